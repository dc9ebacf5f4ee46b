"""Shared by train.py, infer.py and verify.py: the digits network, its weights file, the data.

The weights file is safetensors (a little-endian u64 header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw float32 data), written and read here with
NumPy alone: loading it runs no code from the file (unlike a pickled torch.save), and the same
weights always give the same bytes. Every field of a file read back is checked.
"""
import json
import os
import struct

import numpy as np

FEATURES = 64
CLASSES = 10
MAX_HIDDEN = 1024
MAX_HEADER_BYTES = 1 << 16
FORMAT = 'lilynode-digits-mlp-v1'


class BadInput(Exception):
    """An input the job refuses (exit code 2, the reason on stderr)."""


def deterministic(threads):
    """Fixed thread counts and deterministic kernels (call before any tensor work)."""
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:
        pass  # already set in this process
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return torch


def pick_device(torch, want):
    if want == 'cpu':
        return 'cpu'
    if torch.cuda.is_available():
        return 'cuda'
    if want == 'cuda':
        raise BadInput('device cuda was asked for, but this torch build sees no GPU')
    return 'cpu'


def build(torch, hidden):
    return torch.nn.Sequential(torch.nn.Linear(FEATURES, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, CLASSES))


LAYERS = {'fc1.weight': '0.weight', 'fc1.bias': '0.bias', 'fc2.weight': '2.weight', 'fc2.bias': '2.bias'}


def save_weights(path, model, hidden, metadata):
    state = model.state_dict()
    tensors = {name: state[key].detach().cpu().numpy() for name, key in LAYERS.items()}
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(tensors[name].shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header['__metadata__'] = dict(metadata, format=FORMAT, hidden=str(hidden))
    text = json.dumps(header, sort_keys=True, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def load_weights(torch, path, max_bytes=16 << 20):
    """The model in a weights file, after checking every field (BadInput when anything is off)."""
    with open(path, 'rb') as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes or len(data) < 8:
        raise BadInput(f'the model file is {len(data)} bytes; expected a safetensors file of 8..{max_bytes} bytes')
    (n,) = struct.unpack('<Q', data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise BadInput('the model file has a malformed header length (not a safetensors file written by the train module?)')
    try:
        header = json.loads(data[8:8 + n].decode('utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f'the model file header is not JSON: {e}') from None
    if not isinstance(header, dict):
        raise BadInput('the model file header must be a JSON object')
    meta = header.pop('__metadata__', {})
    if not isinstance(meta, dict) or meta.get('format') != FORMAT:
        raise BadInput(f'the model file is not a {FORMAT} file')
    hidden = meta.get('hidden', '')
    if not (isinstance(hidden, str) and hidden.isdigit() and 1 <= int(hidden) <= MAX_HIDDEN):
        raise BadInput(f'the model file names a bad hidden size {hidden!r}')
    hidden = int(hidden)
    want = {'fc1.weight': [hidden, FEATURES], 'fc1.bias': [hidden], 'fc2.weight': [CLASSES, hidden], 'fc2.bias': [CLASSES]}
    if sorted(header) != sorted(want):
        raise BadInput(f'the model file must hold exactly {", ".join(sorted(want))}')
    body = data[8 + n:]
    model = build(torch, hidden)
    state = {}
    for name, shape in want.items():
        t = header[name]
        if not isinstance(t, dict) or t.get('dtype') != 'F32' or t.get('shape') != shape:
            raise BadInput(f'tensor {name} must be F32 of shape {shape}')
        off = t.get('data_offsets')
        if not (isinstance(off, list) and len(off) == 2 and all(isinstance(x, int) for x in off)):
            raise BadInput(f'tensor {name} has malformed data_offsets')
        begin, end = off
        if not (0 <= begin <= end <= len(body)) or end - begin != 4 * int(np.prod(shape)):
            raise BadInput(f'tensor {name} lies outside the file or has the wrong size')
        arr = np.frombuffer(body[begin:end], dtype='<f4').reshape(shape).copy()
        if not np.isfinite(arr).all():
            raise BadInput(f'tensor {name} holds NaN or infinite values')
        state[LAYERS[name]] = torch.from_numpy(arr)
    model.load_state_dict(state)
    return model, meta


def digits():
    """scikit-learn's bundled handwritten digits (1797 images of 8x8 pixels, 0..16), as shipped by Debian's python3-sklearn."""
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    return x.astype(np.int64), y.astype(np.int64)


def split(n, holdout, split_seed=0):
    """A fixed permutation: the first `holdout` indexes are held back from training."""
    perm = np.random.RandomState(split_seed).permutation(n)
    return perm[holdout:], perm[:holdout]


def read_rows(path, max_rows=100_000):
    """A CSV of digit rows: 64 pixel values 0..16, optionally with a first column `label` (named in a header line)."""
    with open(path, 'r', encoding='utf-8') as f:
        lines = [ln.strip() for ln in f.read(64 << 20).splitlines() if ln.strip() != '']
    if not lines:
        raise BadInput('the data file has no rows')
    labelled = False
    first = lines[0].split(',')
    if not first[0].strip().lstrip('-').isdigit():
        names = [c.strip() for c in first]
        if names == ['label'] + [f'p{i}' for i in range(FEATURES)]:
            labelled = True
        elif names != [f'p{i}' for i in range(FEATURES)]:
            raise BadInput('the data header must be p0..p63, or label,p0..p63')
        lines = lines[1:]
    if len(lines) > max_rows:
        raise BadInput(f'the data file has {len(lines)} rows; at most {max_rows}')
    width = FEATURES + (1 if labelled else 0)
    rows = []
    for i, ln in enumerate(lines):
        cells = ln.split(',')
        if len(cells) != width or not all(c.strip().isdigit() for c in cells):
            raise BadInput(f'data row {i + 1} must be {width} integers')
        rows.append([int(c) for c in cells])
    a = np.array(rows, dtype=np.int64).reshape(-1, width)
    x = a[:, 1:] if labelled else a
    y = a[:, 0] if labelled else None
    if (x < 0).any() or (x > 16).any():
        raise BadInput('pixel values must be 0..16')
    if y is not None and ((y < 0).any() or (y >= CLASSES).any()):
        raise BadInput('labels must be 0..9')
    return x, y


def write_rows(path, x, y):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(','.join(['label'] + [f'p{i}' for i in range(FEATURES)]) + '\n')
        for label, row in zip(y.tolist(), x.tolist()):
            f.write(','.join(str(v) for v in [label] + row) + '\n')


def predict(torch, model, x, device):
    """Top-1 labels of rows of pixels (0..16), in batches, on `device`."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 512):
            xb = torch.tensor(x[i:i + 512] / 16.0, dtype=torch.float32, device=device)
            out.append(model(xb).argmax(dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def write_json(path, obj):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(obj, sort_keys=True, indent=1) + '\n')


def out_dir():
    return os.environ.get('OUTPUT_DIR', '/outputs')
