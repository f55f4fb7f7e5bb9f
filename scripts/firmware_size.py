"""Flash and RAM used by an ARM ELF image, from its section headers:
flash = vector table + code + read-only data + initial values of .data;
RAM = .data + .bss (+ .uninit), stack not counted."""

import struct
import sys


def sections(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 1:
        raise SystemExit(f"{path}: not a 32-bit ELF file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    for name, _type, flags, _addr, _off, size, *_ in headers:
        end = data.index(b"\0", names_at + name)
        yield data[names_at + name:end].decode(), flags, size


def main():
    flash = ram = 0
    for name, flags, size in sections(sys.argv[1]):
        alloc = flags & 0x2
        if not alloc:
            continue
        if name in (".bss", ".uninit"):
            ram += size
        elif name == ".data":
            ram += size
            flash += size
        else:
            flash += size
    print(f"flash {flash} bytes, RAM {ram} bytes (static, without stack)")


if __name__ == "__main__":
    main()
