/*
 * default.c - the built-in default policy.
 *
 * Overview: constant text only.  It must stay identical to
 * policies/builtin/default.yaml (a unit test compares them): edit both together.
 */
#include "procwarden/policy.h"

static const char default_text[] =
    "# procwarden built-in default policy: observe and alert, never kill.\n"
    "# Used when no --policy is given and /etc/procwarden/policy.d does not exist.\n"
    "version: 1\n"
    "rules:\n"
    "  - name: default-every-launch\n"
    "    description: record every program launch\n"
    "    severity: info\n"
    "    actions: [log]\n"
    "  - name: default-exec-from-temp\n"
    "    description: a program started from a world-writable temporary directory\n"
    "    severity: warning\n"
    "    match:\n"
    "      exe: [\"/tmp/**\", \"/var/tmp/**\", \"/dev/shm/**\"]\n"
    "    actions: [log]\n"
    "  - name: default-fileless-exec\n"
    "    description: a program started from a memfd or a deleted file\n"
    "    severity: error\n"
    "    match:\n"
    "      fileless: true\n"
    "    actions: [log]\n"
    "  - name: default-shell-under-server\n"
    "    description: a shell started under a web or database server\n"
    "    severity: critical\n"
    "    match:\n"
    "      exe: [\"/bin/sh\", \"/bin/bash\", \"/bin/dash\", \"/bin/zsh\", \"/bin/ksh\", "
    "\"/bin/mksh\",\n"
    "            \"/bin/csh\", \"/bin/tcsh\", \"/bin/fish\", \"/bin/busybox\",\n"
    "            \"/usr/bin/sh\", \"/usr/bin/bash\", \"/usr/bin/dash\", \"/usr/bin/zsh\", "
    "\"/usr/bin/ksh\",\n"
    "            \"/usr/bin/mksh\", \"/usr/bin/csh\", \"/usr/bin/tcsh\", \"/usr/bin/fish\",\n"
    "            \"/usr/bin/busybox\"]\n"
    "      ancestor_exe: [\"/usr/sbin/nginx\", \"/usr/sbin/apache2\", \"/usr/sbin/httpd\",\n"
    "                     \"/usr/sbin/lighttpd\", \"/usr/bin/caddy\", \"/usr/sbin/php-fpm*\",\n"
    "                     \"/usr/bin/php-cgi*\", \"/usr/sbin/mysqld\", \"/usr/sbin/mariadbd\",\n"
    "                     \"/usr/lib/postgresql/*/bin/postgres\", \"/usr/bin/redis-server\",\n"
    "                     \"/usr/bin/mongod\"]\n"
    "    actions: [log]\n";

const char *policy_default_text(void)
{
	return default_text;
}
