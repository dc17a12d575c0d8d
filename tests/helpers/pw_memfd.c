/*
 * pw_memfd.c - run a program from memory: a fileless exec for the tests.
 *
 * Usage: pw_memfd PATH [ARGS...]: copies the file PATH into a memfd
 * (memfd_create) and executes the memfd (execveat with AT_EMPTY_PATH), with
 * argv = PATH ARGS.  The kernel then shows the exe as "/memfd:NAME (deleted)".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int in, mfd;

	if (argc < 2) {
		fprintf(stderr, "usage: pw_memfd PATH [ARGS...]\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	mfd = (int)syscall(SYS_memfd_create, "pw-fileless", MFD_CLOEXEC);
	if (in < 0 || mfd < 0) {
		perror("pw_memfd: open/memfd_create");
		return 126;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, (size_t)n) != n) {
			perror("pw_memfd: write");
			return 126;
		}
	close(in);
	syscall(SYS_execveat, mfd, "", argv + 1, environ, AT_EMPTY_PATH);
	perror("pw_memfd: execveat");
	return 127;
}
