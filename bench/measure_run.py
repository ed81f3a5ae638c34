#!/usr/bin/env python3
"""Runs one command and prints what it cost as one JSON line on stdout.

Usage: measure_run.py LOG [--server-pid PID] -- COMMAND [ARGS...]

The command runs in the current directory with the current environment, its
stdout and stderr going to LOG. Printed fields:
  wall_s        from just before the fork to the command's exit
  user_s sys_s  CPU of the command and of every descendant it waited for
                (wait4's rusage: task processes included)
  tree_rss_kib  peak RSS of the largest single process of that tree
                (wait4's ru_maxrss, as GNU time reports it; Linux counts this
                script's own ~13 MiB in it, the command starting as its child)
  self_rss_kib  peak RSS of the command's own process (VmHWM, read every
                5 ms while it runs, so a peak in its last 5 ms can be missed)
  server_cpu_s  CPU the process PID (the cache server) used meanwhile
  exit          the command's exit status (negative: killed by that signal)
"""

import json
import os
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    opts, command = args[:split], args[split + 1:]
    if not opts or not command:
        sys.exit(__doc__)
    log = opts[0]
    server_pid = None
    if len(opts) == 3 and opts[1] == "--server-pid":
        server_pid = int(opts[2])
    elif len(opts) != 1:
        sys.exit(__doc__)

    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    server0 = cpu_ticks(server_pid) if server_pid else 0
    start = time.monotonic()
    # posix_spawn (vfork-like in glibc), not fork: a forked copy of this
    # interpreter would count in the command's peak RSS until the exec.
    pid = os.posix_spawnp(command[0], command, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, out, 1),
        (os.POSIX_SPAWN_DUP2, out, 2),
    ])
    os.close(out)

    hwm = [0]
    done = threading.Event()

    def sample():
        path = "/proc/%d/status" % pid
        while not done.is_set():
            try:
                with open(path) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm[0] = max(hwm[0], int(line.split()[1]))
                            break
            except OSError:
                return
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    server1 = cpu_ticks(server_pid) if server_pid else 0
    print(json.dumps({
        "wall_s": round(wall, 4),
        "user_s": round(usage.ru_utime, 4),
        "sys_s": round(usage.ru_stime, 4),
        "tree_rss_kib": usage.ru_maxrss,
        "self_rss_kib": hwm[0],
        "server_cpu_s": round((server1 - server0) / CLK_TCK, 3),
        "exit": os.waitstatus_to_exitcode(status),
    }))


if __name__ == "__main__":
    main()
