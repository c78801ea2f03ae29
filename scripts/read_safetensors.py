#!/usr/bin/env python3
"""Reads a tapeflow checkpoint with numpy alone, as any safetensors consumer would.

    read_safetensors.py FILE.safetensors           print every tensor
    read_safetensors.py --dir DIR                  the latest checkpoint named in DIR/checkpoint
    read_safetensors.py --dir DIR --expect J       compare with the values in J (exact)
    read_safetensors.py --fixture EXE --workdir W  run EXE W first, then as --dir W --expect W/expected.json,
                                                   and W/model.safetensors (Model::save) against
                                                   W/model_expected.json

Checks the format strictly (8-byte little-endian header length, JSON header padded with
spaces to a multiple of 8, string-only __metadata__, data offsets that tile the data with
no gap or overlap, each tensor at an offset that is a multiple of its element size) and
tapeflow's CRC-32C (metadata "crc32c": the whole file with those 8 hex
digits set to '0'). If the `safetensors` package is installed, loads the file with it too and
checks that it agrees. Exit status: 0 ok, 1 mismatch or bad file, 77 numpy missing (skipped).
Shares no code with tapeflow: it is written from the format's description.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

from read_events import crc32c  # the CRC-32C of the event-file reader beside this script

try:
    import numpy as np
except ImportError:
    print("SKIPPED: numpy is not installed (apt-get install python3-numpy)")
    sys.exit(77)

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "BOOL": "?",
          "F16": "<f2", "I8": "i1", "U8": "u1", "I16": "<i2"}
TF_NAMES = {"F32": "float32", "F64": "float64", "I32": "int32", "I64": "int64", "BOOL": "bool"}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def read(path):
    """Returns (metadata dict, {name: numpy array}, {name: safetensors dtype code})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        fail(f"{path}: header length {n} is not a multiple of 8")
    if 8 + n > len(raw):
        fail(f"{path}: header length {n} beyond the file")
    header_bytes = raw[8:8 + n]
    text = header_bytes.decode("utf-8")
    if text.rstrip(" ") != text.rstrip() or not text.startswith("{"):
        fail(f"{path}: header must start with '{{' and be padded with spaces only")
    header = json.loads(text)
    meta = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in meta.values()):
        fail(f"{path}: __metadata__ values must all be strings")

    stored = meta.get("crc32c")
    if stored is None:
        fail(f"{path}: no crc32c in the metadata")
    field = b'"crc32c":"' + stored.encode() + b'"'
    at = raw.find(field, 8, 8 + n)
    if at < 0:
        fail(f"{path}: the crc32c field is not in the header")
    zeroed = bytearray(raw)
    zeroed[at + 10:at + 18] = b"00000000"
    actual = "%08x" % crc32c(bytes(zeroed))
    if actual != stored:
        fail(f"{path}: crc32c {actual} but the metadata says {stored}")

    data = raw[8 + n:]
    spans = []
    tensors, codes = {}, {}
    for name, info in header.items():
        code = info["dtype"]
        dt = np.dtype(DTYPES[code])
        shape = tuple(info["shape"])
        begin, end = info["data_offsets"]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != count * dt.itemsize:
            fail(f"{path}: {name}: {end - begin} bytes for shape {shape} of {code}")
        if begin % dt.itemsize != 0:
            fail(f"{path}: {name}: offset {begin} is not a multiple of its {dt.itemsize}-byte dtype")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape)
        codes[name] = code
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            fail(f"{path}: data has a gap or overlap at byte {pos}")
        pos = end
    if pos != len(data):
        fail(f"{path}: data is {len(data)} bytes but the tensors cover {pos}")
    return meta, tensors, codes


def latest_in(directory):
    with open(os.path.join(directory, "checkpoint")) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model_checkpoint_path":
                value = json.loads(value.strip())  # a quoted string
                return value if os.path.isabs(value) else os.path.join(directory, value)
    fail(f"{directory}/checkpoint names no model_checkpoint_path")


def compare(tensors, codes, expected):
    for name, want in expected.items():
        if name not in tensors:
            fail(f"{name} is missing from the file")
        got = tensors[name]
        if TF_NAMES[codes[name]] != want["dtype"]:
            fail(f"{name}: dtype {codes[name]} but expected {want['dtype']}")
        if list(got.shape) != want["shape"]:
            fail(f"{name}: shape {list(got.shape)} but expected {want['shape']}")
        ref = np.array(want["values"], dtype=got.dtype).reshape(got.shape)
        if not np.array_equal(got, ref):
            fail(f"{name}: values differ:\n{got}\nexpected\n{ref}")
    extra = set(tensors) - set(expected)
    if extra:
        fail(f"unexpected tensors in the file: {sorted(extra)}")


def check_with_safetensors(path, tensors):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        print("note: the Python safetensors package is not installed; checked with numpy only")
        return
    loaded = load_file(path)
    if set(loaded) != set(tensors):
        fail("safetensors package sees other tensor names")
    for name, arr in loaded.items():
        if not np.array_equal(arr, tensors[name]):
            fail(f"safetensors package reads other values for {name}")
    print(f"safetensors package: the same {len(loaded)} tensors")


def check_model(path, expected):
    """A file of Model::save: tensors as expected, and the architecture in the metadata."""
    meta, tensors, codes = read(path)
    with open(expected) as f:
        compare(tensors, codes, json.load(f))
    if meta.get("model_format_version") != "1":
        fail(f"{path}: model_format_version is {meta.get('model_format_version')!r}, not '1'")
    config = json.loads(meta["model_config"])
    layers = [layer["class_name"] for layer in config["layers"]]
    if config["class_name"] != "Sequential" or layers != ["Dense", "Dense"]:
        fail(f"{path}: model_config describes {config['class_name']} of {layers}")
    if config["layers"][0]["config"].get("units") != 4:
        fail(f"{path}: the first Dense has no units 4: {config['layers'][0]['config']}")
    compile_config = json.loads(meta["compile_config"])
    if compile_config["optimizer"]["class_name"] != "Adam":
        fail(f"{path}: compile_config names optimizer {compile_config['optimizer']}")
    print(f"{path}: {len(tensors)} tensors match exactly; model_config {config['class_name']}"
          f" of {layers}; optimizer {compile_config['optimizer']['class_name']}")
    check_with_safetensors(path, tensors)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", nargs="?")
    p.add_argument("--dir")
    p.add_argument("--expect")
    p.add_argument("--fixture")
    p.add_argument("--workdir")
    a = p.parse_args()
    if a.fixture:
        os.makedirs(a.workdir, exist_ok=True)
        for name in os.listdir(a.workdir):
            os.remove(os.path.join(a.workdir, name))
        subprocess.run([a.fixture, a.workdir], check=True)
        a.dir, a.expect = a.workdir, os.path.join(a.workdir, "expected.json")
    path = a.file
    if a.dir:
        path = latest_in(a.dir)
    if not path:
        p.error("give a FILE, --dir or --fixture")
    if not path.endswith(".safetensors"):
        path += ".safetensors"
    meta, tensors, codes = read(path)
    graph = json.loads(meta["object_graph"]) if "object_graph" in meta else None
    if a.expect:
        with open(a.expect) as f:
            compare(tensors, codes, json.load(f))
        if graph is None or not graph.get("optimizers"):
            fail("the object graph in the metadata lists no optimizer")
        slots = sum(len(o["slots"]) for o in graph["optimizers"])
        print(f"{path}: {len(tensors)} tensors match exactly; crc32c ok; {slots} optimizer slots")
    else:
        for name, arr in sorted(tensors.items()):
            print(f"{name}: {codes[name]} {list(arr.shape)}\n{arr}")
    check_with_safetensors(path, tensors)
    if a.fixture:
        check_model(os.path.join(a.workdir, "model.safetensors"),
                    os.path.join(a.workdir, "model_expected.json"))
    print("PASS")


if __name__ == "__main__":
    main()
