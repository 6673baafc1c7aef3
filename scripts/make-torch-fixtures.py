#!/usr/bin/python3
"""
One-time, offline: genuine `torch.save` files for the PyTorch checkpoint reader's tests
(src/models/pytorch-checkpoint.ts), written into test/models/torch-fixtures/ and committed.
Never run by `npm test`; rerun by hand (Debian's python3-torch) only to change the fixtures:

    /usr/bin/python3 scripts/make-torch-fixtures.py

Each checkpoint holds a small module's state dict (with the `_metadata` attribute
`Module.state_dict()` sets, as every transformers `pytorch_model.bin` has) plus views that
exercise the reader: a tied tensor sharing its storage, a row with a storage offset, a
transposed (non-contiguous) view, a 0-d tensor and an int64 buffer. `expected.json` lists
every tensor's dtype, shape and values (row-major, as float) for the tests to compare with.
The hostile files carry payloads that would create a marker file named `PWNED` in the working
folder if anything executed them.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'models', 'torch-fixtures')
DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}
MARKER = 'PWNED'


class Tiny(torch.nn.Module):
    def __init__(self, dtype):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 3)
        self.norm = torch.nn.LayerNorm(3)
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight  # tied, as GPT-2's lm_head and wte
        self.register_buffer('position_ids', torch.arange(4).unsqueeze(0))
        self.to(dtype)


def state_dict(dtype_name):
    torch.manual_seed({'F32': 1, 'F16': 2, 'BF16': 3}[dtype_name])
    model = Tiny(DTYPES[dtype_name])
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p.float()).to(p.dtype))
    sd = model.state_dict()
    weight = sd['emb.weight']
    sd['row'] = weight[2]  # storage offset 6, contiguous
    sd['transposed'] = weight.t()  # strides (1, 3): not contiguous
    sd['scalar'] = torch.tensor(0.5, dtype=DTYPES[dtype_name])
    return sd


def describe(sd):
    return {
        name: {
            'dtype': {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64'}[t.dtype],
            'shape': list(t.shape),
            'values': [float(v) for v in t.float().flatten().tolist()] if t.is_floating_point() else [int(v) for v in t.flatten().tolist()],
        }
        for name, t in sd.items()
    }


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
    print(f'{name}: {len(data)} bytes')


def save_to_file(name, obj, **kwargs):
    # Saved through a path, so the zip records carry the file's stem as their prefix
    # (torch 1.13 names the archive after the file), as real checkpoints do.
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kwargs)
    print(f'{name}: {os.path.getsize(path)} bytes')


class Payload:
    """Would create the marker file when unpickled by an unrestricted pickle.load."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def zip_with_pickle(pickled, prefix='archive'):
    """A torch-style zip (stored records) whose data.pkl is `pickled`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression=zipfile.ZIP_STORED) as z:
        z.writestr(f'{prefix}/data.pkl', pickled)
        z.writestr(f'{prefix}/version', '3\n')
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for dtype_name in DTYPES:
        sd = state_dict(dtype_name)
        expected[dtype_name] = describe(sd)
        lower = dtype_name.lower()
        save_to_file(f'zip-{lower}.bin', sd)
        save_to_file(f'legacy-{lower}.bin', sd, _use_new_zipfile_serialization=False)

    # Saved through a buffer: the records are under archive/, as transformers' shards often are.
    sd = state_dict('F32')
    buf = io.BytesIO()
    torch.save(sd, buf)
    write('zip-archive-prefix.bin', buf.getvalue())

    # A genuine checkpoint that torch.load(weights_only=True) refuses: protocol 4 frames (FRAME opcode).
    save_to_file('protocol-4.bin', state_dict('F32'), pickle_protocol=4)

    # The same zip with its records deflated: stored records are what torch writes; a compressed one cannot be referenced.
    with zipfile.ZipFile(os.path.join(OUT, 'zip-f32.bin')) as source:
        deflated = io.BytesIO()
        with zipfile.ZipFile(deflated, 'w', compression=zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                target.writestr(info.filename, source.read(info.filename))
    write('compressed.bin', deflated.getvalue())

    # Hostile pickles, each inside a torch-style zip and as a legacy (sequential) file.
    hostile = {
        'os-system': pickle.dumps(Payload(os.system, f'touch {MARKER}'), protocol=2),
        'builtins-exec': pickle.dumps(Payload(exec, f"open('{MARKER}', 'w').close()"), protocol=2),
        # A forbidden global hidden as a state-dict value, after an allowed tensor rebuild.
        'nested-eval': pickle.dumps(collections.OrderedDict(w=Payload(eval, f"open('{MARKER}', 'w')")), protocol=2),
    }
    for name, pickled in hostile.items():
        write(f'hostile-{name}.bin', zip_with_pickle(pickled))
    legacy_header = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2) + pickle.dumps(
        {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, protocol=2
    )
    write('hostile-legacy-os-system.bin', legacy_header + hostile['os-system'] + pickle.dumps([], protocol=2))
    # An opcode no pickle protocol defines (0xff) after a valid start.
    write('hostile-unknown-opcode.bin', zip_with_pickle(b'\x80\x02}q\x00\xff.'))

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'python': sys.version.split()[0], 'tensors': expected}, f, indent=1)
        f.write('\n')
    print('expected.json written')


if __name__ == '__main__':
    main()
