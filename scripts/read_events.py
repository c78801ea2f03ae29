#!/usr/bin/env python3
"""Prints the summaries in TensorBoard event files (tapeflow's or TensorFlow's).

Standard library only. Checks the TFRecord framing (both masked CRC-32C values) and decodes
Event/Summary/TensorProto by hand, printing one line per value:

    step  tag  plugin  value

Usage: scripts/read_events.py LOGDIR_OR_FILE [...]   (directories are searched recursively)
"""

import os
import struct
import sys


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    """Yields the data of each TFRecord in the file; raises ValueError on corruption."""
    with open(path, "rb") as f:
        blob = f.read()
    pos = 0
    while pos < len(blob):
        if pos + 12 > len(blob):
            raise ValueError(f"{path}: truncated record header at byte {pos}")
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if length_crc != masked_crc(header):
            raise ValueError(f"{path}: bad length CRC at byte {pos}")
        data = blob[pos + 12:pos + 12 + length]
        if len(data) != length or pos + 16 + length > len(blob):
            raise ValueError(f"{path}: truncated record at byte {pos}")
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        if data_crc != masked_crc(data):
            raise ValueError(f"{path}: bad data CRC at byte {pos}")
        yield data
        pos += 16 + length


def _varint(buf, pos):
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def parse(buf):
    """A protobuf message as {field_number: [values]} (ints, or bytes for wire type 2)."""
    fields = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = buf[pos:pos + length]
            pos += length
        elif wire == 5:
            value = buf[pos:pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


# types.proto: DataType -> struct format of one element.
_DTYPES = {1: "f", 2: "d", 3: "i", 4: "B", 9: "q", 10: "?"}
_DTYPE_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 7: "string", 9: "int64",
                10: "bool"}


def decode_tensor(buf):
    """TensorProto -> (dtype name, shape list, flat list of values)."""
    t = parse(buf)
    dtype = t.get(1, [0])[0]
    shape = []
    if 2 in t:
        for dim in parse(t[2][0]).get(2, []):
            shape.append(_signed64(parse(dim).get(1, [0])[0]))
    if dtype == 7:
        values = list(t.get(8, []))
    elif 4 in t:
        fmt = _DTYPES[dtype]
        content = t[4][0]
        n = len(content) // struct.calcsize(fmt)
        values = list(struct.unpack("<%d%s" % (n, fmt), content))
    else:
        values = []
        # Packed repeated fields: float_val 5, double_val 6, int_val 7, int64_val 10.
        for field, fmt in ((5, "f"), (6, "d")):
            for packed in t.get(field, []):
                if isinstance(packed, int):
                    continue
                n = len(packed) // struct.calcsize(fmt)
                values += list(struct.unpack("<%d%s" % (n, fmt), packed))
        for field in (7, 10):
            for packed in t.get(field, []):
                if isinstance(packed, int):
                    values.append(_signed64(packed))
                    continue
                pos = 0
                while pos < len(packed):
                    v, pos = _varint(packed, pos)
                    values.append(_signed64(v))
    return _DTYPE_NAMES.get(dtype, str(dtype)), shape, values


def describe(plugin, shape, values):
    if plugin == "scalars" or (not shape and len(values) == 1 and not isinstance(values[0], bytes)):
        return repr(values[0]) if values else "?"
    if plugin == "histograms":
        rows = [values[i:i + 3] for i in range(0, len(values), 3)]
        count = sum(r[2] for r in rows)
        lo = min((r[0] for r in rows), default=0.0)
        hi = max((r[1] for r in rows), default=0.0)
        return f"{len(rows)} buckets, {count:g} values in [{lo:g}, {hi:g}]"
    if plugin == "images":
        w, h = values[0].decode(), values[1].decode()
        pngs = [v for v in values[2:] if v[:8] == b"\x89PNG\r\n\x1a\n"]
        return f"{len(values) - 2} image(s) {w}x{h}, {len(pngs)} PNG"
    if plugin == "text":
        return repr(values[0].decode("utf-8", "replace")) if values else "''"
    return f"shape {shape}: {values[:6]}{' ...' if len(values) > 6 else ''}"


def dump(path, out=sys.stdout):
    for i, record in enumerate(read_records(path)):
        event = parse(record)
        step = _signed64(event.get(2, [0])[0])
        if 3 in event:
            (wall,) = struct.unpack("<d", event[1][0]) if 1 in event else (0.0,)
            print(f"# {path}: file_version {event[3][0].decode()} (wall_time {wall:.3f})",
                  file=out)
            continue
        for summary in event.get(5, []):
            for value in parse(summary).get(1, []):
                v = parse(value)
                tag = v.get(1, [b""])[0].decode()
                plugin = ""
                if 9 in v:
                    meta = parse(v[9][0])
                    if 1 in meta:
                        plugin = parse(meta[1][0]).get(1, [b""])[0].decode()
                if 8 in v:
                    _, shape, values = decode_tensor(v[8][0])
                    text = describe(plugin, shape, values)
                elif 2 in v:  # TF1 simple_value
                    text = repr(struct.unpack("<f", v[2][0])[0])
                    plugin = plugin or "scalars"
                else:
                    text = "(unsupported value)"
                print(f"{step}\t{tag}\t{plugin}\t{text}", file=out)


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    paths = []
    for arg in argv[1:]:
        if os.path.isdir(arg):
            for root, _, files in os.walk(arg):
                paths += [os.path.join(root, f) for f in sorted(files) if "tfevents" in f]
        else:
            paths.append(arg)
    status = 0
    for path in sorted(paths):
        try:
            dump(path)
        except (ValueError, IndexError, struct.error) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
