"""Print N free TCP ports on a loopback address, separated by spaces.

    python3 freeport.py [N] [ADDRESS]

All N sockets are bound at the same time, so the ports are distinct; they
are closed before printing, so another process could take one in between
(good enough on a test machine).
"""

import socket
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    addr = addr.strip("[]")
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    socks = []
    ports = []
    try:
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.bind((addr, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    print(" ".join(str(p) for p in ports))


if __name__ == "__main__":
    main()
