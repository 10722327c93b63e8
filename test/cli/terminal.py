# Runs a command on a pseudo-terminal, as a user at a terminal would: waits for `wait_for` in the
# output, sends `keys`, and prints everything the terminal showed. Every wait is bounded.
# usage: python3 terminal.py <wait_for> <keys> <seconds> <command...>
import os, pty, select, sys, time

wait_for, keys, limit = sys.argv[1].encode(), sys.argv[2].encode().decode('unicode_escape').encode(), float(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[4], sys.argv[4:])
out = b''
def read(until, seconds):
    global out
    end = time.monotonic() + seconds
    while until is None or until not in out:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return  # the child closed the terminal
        if not chunk:
            return
        out += chunk
read(wait_for, limit)
os.write(fd, keys)
read(None, limit)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
