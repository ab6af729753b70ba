#!/usr/bin/env python3
"""pages.py PID...: the KiB of memory resident in PIDs, each page once.

Why a third measure beside RSS and PSS (e2e.sh): a pod's memory is its
cgroup's, which charges a page once however many of its processes map
it. Summed RSS counts the program's code once per worker; PSS shares a
library's pages with every process on the machine that maps them (the
ceiling's lighttpd, wrk), which a pod would not. The physical frame of
each resident page (/proc/PID/pagemap) tells them apart: the pages of
the processes given, each counted once, are what their pod would be
charged for what they map (page tables and the kernel's buffers are not
in any of the three).

Prints "-" where the kernel hides the frames (they read as 0 without
CAP_SYS_ADMIN), or where a process has gone.
"""
import os
import struct
import sys

PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1
ENTRY = 8


def frames(pid, page):
    """The frames of pid's resident pages; None where they are hidden."""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, \
            open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            # The vsyscall page is not in the page tables: reading it fails.
            if len(fields) > 5 and fields[5] == "[vsyscall]":
                continue
            pagemap.seek(start // page * ENTRY)
            data = pagemap.read((end - start) // page * ENTRY)
            for (entry,) in struct.iter_unpack("<Q", data):
                if entry & PRESENT:
                    pfn = entry & PFN_MASK
                    if pfn == 0:
                        return None
                    found.add(pfn)
    return found


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: pages.py PID...")
    page = os.sysconf("SC_PAGE_SIZE")
    every = set()
    try:
        for pid in sys.argv[1:]:
            found = frames(pid, page)
            if found is None:
                print("-")
                return
            every |= found
    except OSError:
        print("-")
        return
    print(len(every) * page // 1024)


if __name__ == "__main__":
    main()
