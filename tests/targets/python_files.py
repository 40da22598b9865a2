#!/usr/bin/python3
"""python_files OUT: a python3 program with open files, for checkpoint/restore round trips.

Every 10 ms it writes the next number ("1\n", "2\n", ...) to OUT.numbers through one open file object (the
offset must survive), and reads the next line of OUT.input, a file it opened read-only at start (its offset must
survive too). Ready: OUT.ready with "pid=N". SIGTERM: appends "numbers_ok=", "input_ok=", "count=" lines to OUT.
"""
import os
import signal
import sys
import time

out = sys.argv[1]
with open(out + ".input", "w") as f:
    f.writelines(f"line {i}\n" for i in range(1, 100001))

numbers = open(out + ".numbers", "w", buffering=1)
source = open(out + ".input", "r")
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
with open(out + ".ready.tmp", "w") as f:
    f.write(f"pid={os.getpid()}\n")
os.rename(out + ".ready.tmp", out + ".ready")

count = 0
input_ok = True
while not stop:
    count += 1
    numbers.write(f"{count}\n")
    input_ok &= source.readline() == f"line {count}\n"
    time.sleep(0.01)

numbers.close()
with open(out + ".numbers") as f:
    written = [int(line) for line in f]
numbers_ok = written == list(range(1, count + 1))
with open(out, "a") as f:
    f.write(f"numbers_ok={int(numbers_ok)}\ninput_ok={int(input_ok)}\ncount={count}\n")
