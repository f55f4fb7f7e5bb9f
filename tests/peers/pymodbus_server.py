"""An independent Modbus peer for sitewarden's interoperability tests.

Serves a register layout unlike the simulator's (word-swapped floats, u32 and
u64 counters, packed bits, discrete inputs, and one address inside the polled
range that answers "illegal data address") with pymodbus, over Modbus TCP,
RTU framing over TCP, or RTU on a serial device (a pty pair made by socat in
the tests). Prints READY when it serves.

The values below are the test's expectations; tests/tests/pymodbus.rs checks
each decoded reading against them.
"""

import argparse
import asyncio
import struct

from pymodbus import FramerType
from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer


def words(fmt, value, swap=False):
    """Big-endian 16-bit words of a packed value, optionally word-swapped."""
    raw = struct.pack(">" + fmt, value)
    ws = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return list(reversed(ws)) if swap else ws


def holding_registers():
    layout = {
        100: words("f", 23.75, swap=True),  # f32, low word first
        102: words("I", 3_000_000_123),  # u32, high word first
        104: words("I", 70_000, swap=True),  # u32, low word first
        106: words("h", -125),  # i16, scale 0.1 -> -12.5
        107: [0b1000_0000_0000_0101],  # bit 0 on, bit 1 off, bit 15 on
        # 108 and 109 are absent: reading them is an illegal data address
        110: words("d", 1234.5678),  # f64
        114: words("Q", (1 << 40) + 5),  # u64
    }
    flat = {}
    for start, values in layout.items():
        for i, v in enumerate(values):
            flat[start + i] = v
    return flat


def context():
    # pymodbus 3.x adds 1 to the protocol address internally: shift the blocks.
    hr = ModbusSparseDataBlock({a + 1: v for a, v in holding_registers().items()})
    ir = ModbusSequentialDataBlock(1, [500, 65535, 42])
    di = ModbusSequentialDataBlock(1, [1, 0, 1, 1, 0, 0, 0, 1])
    co = ModbusSequentialDataBlock(1, [0, 1, 1, 0])
    device = ModbusDeviceContext(di=di, co=co, hr=hr, ir=ir)
    return ModbusServerContext(devices={7: device}, single=False)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, help="TCP port to listen on")
    parser.add_argument("--serial", help="serial device to serve RTU on instead")
    parser.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    args = parser.parse_args()
    framer = FramerType.SOCKET if args.framer == "socket" else FramerType.RTU
    if args.serial:
        server = StartAsyncSerialServer(
            context=context(), port=args.serial, framer=FramerType.RTU, baudrate=19200
        )
    else:
        server = StartAsyncTcpServer(
            context=context(), address=("127.0.0.1", args.port), framer=framer
        )
    task = asyncio.create_task(server)
    await asyncio.sleep(0.3)
    print("READY", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main())
