#!/usr/bin/env python3
"""Turn a shipped rsyslog configuration (contrib/rsyslog/) into one a test runs.

  rsyslog_conf.py options FILE
      the names of its options, one a line: the blocks between
      "# ---- option NAME: ..." and "# ---- end NAME ----" lines (a name may
      have several blocks: a module load at the top, an action in a ruleset)
  rsyslog_conf.py uncomment FILE OUT NAME...
      FILE with the code of options NAME... uncommented: in their blocks,
      every line whose first non-blank is a "#" directly followed by
      anything but a space loses that "#" ("# " lines are prose and stay);
      fails if an option named has no such line
  rsyslog_conf.py derive FILE OUT OLD NEW [OLD NEW]...
      FILE with each OLD replaced by NEW, every occurrence; fails if an OLD
      does not occur (the shipped text changed: the test must be told), or
      if a line that is not a comment still names a path under /var or
      /etc (a test's rsyslogd writes only in the test's directory)

The tests read the shipped files through this, never a copy of them.
"""
import re
import sys

BEGIN = re.compile(r"\s*# ---- option ([A-Za-z0-9_-]+):")
END = re.compile(r"\s*# ---- end ([A-Za-z0-9_-]+) ----")
CODE = re.compile(r"(\s*)#(?=[^ \n])")


def blocks(lines):
    """Yield (option name or None, line)."""
    cur = None
    for line in lines:
        b, e = BEGIN.match(line), END.match(line)
        if b:
            if cur:
                sys.exit(f"option '{b.group(1)}' begins inside option '{cur}'")
            cur = b.group(1)
            yield None, line
        elif e:
            if e.group(1) != cur:
                sys.exit(f"end of '{e.group(1)}' inside option '{cur}'")
            cur = None
            yield None, line
        else:
            yield cur, line
    if cur:
        sys.exit(f"option '{cur}' never ends")


def main(argv):
    cmd, src = argv[1], argv[2]
    lines = open(src).read().splitlines(keepends=True)
    if cmd == "options":
        seen = []
        for name, _ in blocks(lines):
            if name and name not in seen:
                seen.append(name)
        print("\n".join(seen))
        return
    out_path, args = argv[3], argv[4:]
    if cmd == "uncomment":
        count = {n: 0 for n in args}
        out = []
        for name, line in blocks(lines):
            m = CODE.match(line) if name in count else None
            if m:
                line = m.group(1) + line[m.end():]
                count[name] += 1
            out.append(line)
        for n, c in count.items():
            if c == 0:
                sys.exit(f"{src}: option '{n}' has no code to uncomment")
        text = "".join(out)
    elif cmd == "derive":
        text = "".join(lines)
        if len(args) % 2:
            sys.exit("derive: OLD without its NEW")
        for old, new in zip(args[::2], args[1::2]):
            if old not in text:
                sys.exit(f"{src}: '{old}' not found: the shipped file changed")
            text = text.replace(old, new)
        for i, line in enumerate(text.splitlines(), 1):
            if not line.lstrip().startswith("#") and re.search(r"[\"\s=](/var|/etc)/", line):
                sys.exit(f"{out_path}:{i}: still a system path: {line.strip()}")
    else:
        sys.exit(f"unknown command '{cmd}'")
    with open(out_path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main(sys.argv)
