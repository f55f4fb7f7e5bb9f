"""The pymodbus reference poller: a synchronous loop, one client per
device, each device's block of holding registers read once a second.

    poller.py <first port> <devices> <registers per device> <seconds>

Prints the registers read. Part of scripts/bench-versus.sh (issue 16).
"""
import sys
import time

from pymodbus.client import ModbusTcpClient


def main():
    first, devices, registers = (int(a) for a in sys.argv[1:4])
    seconds = float(sys.argv[4])
    clients = [ModbusTcpClient("127.0.0.1", port=first + d) for d in range(devices)]
    for c in clients:
        if not c.connect():
            sys.exit(f"cannot connect to port {c.comm_params.port}")
    read = errors = total = 0
    start = time.monotonic()
    deadline = start
    while time.monotonic() - start < seconds:
        for c in clients:
            reply = c.read_holding_registers(0, count=registers)
            if reply.isError():
                errors += 1
                continue
            total += sum(reply.registers)
            read += len(reply.registers)
        deadline += 1.0
        wait = deadline - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    print(f"{read} registers read, {errors} errors (checksum {total})")


if __name__ == "__main__":
    main()
