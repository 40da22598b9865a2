#!/usr/bin/python3
"""python_pool: python3 with multiprocessing workers, for checkpoint/restore round trips of trees.

A Pool of 3 worker processes squares 0..399, each job sleeping 20 ms; the main process appends "I SQUARE" for each
result, in order, to results.log in its working directory, then "total SUM". The pool's pipes, its semaphores
(deleted /dev/shm files mapped by every process) and its helper threads are what a restore must bring back. Prints
"ready" once 20 results are in.
"""
import multiprocessing
import time


def square(x):
    time.sleep(0.02)
    return x * x


if __name__ == "__main__":
    results = open("results.log", "w", buffering=1)
    with multiprocessing.Pool(3) as pool:
        total = 0
        for i, r in enumerate(pool.imap(square, range(400))):
            total += r
            results.write(f"{i} {r}\n")
            if i == 19:
                print("ready", flush=True)
    results.write(f"total {total}\n")
