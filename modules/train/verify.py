"""verify.py KIND CLAIMED REFERENCE [options]: the verifier of the train and infer modules.

The mediator runs it on the provider's output folder (CLAIMED, a tar) and on the output of
its own re-run (REFERENCE, a tar) and rules by its exit code:
  0  the claimed result is acceptable (within the tolerance)
  1  it is not (the reason on stdout)
  other: the verifier could not judge (the mediator then compares result hashes exactly)
train: the claimed weights must load, reproduce the claimed accuracy on the same held-back
digits, and that accuracy must be within --accuracy-tolerance (absolute) of the re-run's.
infer: at most --max-label-mismatch of the claimed top-1 labels may differ from the re-run's.
"""
import argparse
import io
import json
import sys
import tarfile

import mlp

MAX_MEMBER = 32 << 20


class Reject(Exception):
    pass


class CannotJudge(Exception):
    pass


def members(path, err):
    """The regular files of an output tar, by name (bounded; never extracted to disk)."""
    out = {}
    try:
        with tarfile.open(path, 'r:') as t:
            for m in t:
                if not m.isfile():
                    continue
                if m.size > MAX_MEMBER or len(out) > 1000:
                    raise err(f'{m.name}: larger than {MAX_MEMBER} bytes or too many files')
                f = t.extractfile(m)
                out[m.name.removeprefix('./')] = f.read() if f is not None else b''
    except tarfile.TarError as e:
        raise err(f'not a tar: {e}') from None
    return out


def need(files, name, err):
    if name not in files:
        raise err(f'no {name} in the output')
    return files[name]


def verify_train(claimed, reference, a):
    torch = mlp.deterministic(1)
    ref_metrics = json.loads(need(reference, 'metrics.json', CannotJudge))
    ref_hold = need(reference, 'holdout.csv', CannotJudge)
    try:
        metrics = json.loads(need(claimed, 'metrics.json', Reject))
        claimed_acc = float(metrics['accuracy'])
    except (ValueError, KeyError, TypeError) as e:
        raise Reject(f'claimed metrics.json is malformed: {e}') from None
    if need(claimed, 'holdout.csv', Reject) != ref_hold:
        raise Reject('the claimed held-back digits are not the ones the job holds back')
    with open('/tmp/model.safetensors', 'wb') as f:
        f.write(need(claimed, 'model.safetensors', Reject))
    with open('/tmp/holdout.csv', 'wb') as f:
        f.write(ref_hold)
    try:
        model, _ = mlp.load_weights(torch, '/tmp/model.safetensors')
    except mlp.BadInput as e:
        raise Reject(f'claimed weights: {e}') from None
    x, y = mlp.read_rows('/tmp/holdout.csv')
    acc = int((mlp.predict(torch, model, x, 'cpu') == y).sum()) / len(y)
    if abs(acc - claimed_acc) > 1e-6:
        raise Reject(f'the claimed weights give accuracy {acc:.6f}, not the claimed {claimed_acc:.6f}')
    ref_acc = float(ref_metrics['accuracy'])
    if abs(acc - ref_acc) > a.accuracy_tolerance:
        raise Reject(f'accuracy {acc:.6f} is {abs(acc - ref_acc):.6f} from the re-run\'s {ref_acc:.6f}, more than the tolerance {a.accuracy_tolerance}')
    return f'accuracy {acc:.6f} vs re-run {ref_acc:.6f}: within {a.accuracy_tolerance}'


def labels(text, err):
    lines = text.decode('utf-8', 'replace').strip().splitlines()
    if not lines or lines[0] != 'row,label':
        raise err('predictions.csv must start with row,label')
    try:
        return [int(ln.split(',')[1]) for ln in lines[1:]]
    except (IndexError, ValueError):
        raise err('predictions.csv has a malformed row') from None


def verify_infer(claimed, reference, a):
    ref = labels(need(reference, 'predictions.csv', CannotJudge), CannotJudge)
    got = labels(need(claimed, 'predictions.csv', Reject), Reject)
    if len(got) != len(ref):
        raise Reject(f'{len(got)} predictions, the re-run made {len(ref)}')
    diff = sum(1 for g, r in zip(got, ref) if g != r)
    if diff > a.max_label_mismatch:
        raise Reject(f'{diff} of {len(ref)} top-1 labels differ from the re-run (at most {a.max_label_mismatch} may)')
    return f'{diff} of {len(ref)} top-1 labels differ (at most {a.max_label_mismatch} may)'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('kind', choices=['train', 'infer'])
    ap.add_argument('claimed')
    ap.add_argument('reference')
    ap.add_argument('--accuracy-tolerance', type=float, default=0.005)
    ap.add_argument('--max-label-mismatch', type=int, default=0)
    a = ap.parse_args()
    try:
        reference = members(a.reference, CannotJudge)
        claimed = members(a.claimed, Reject)
        why = (verify_train if a.kind == 'train' else verify_infer)(claimed, reference, a)
    except Reject as e:
        print(json.dumps({'accept': False, 'reason': str(e)}))
        return 1
    except CannotJudge as e:
        print(json.dumps({'accept': None, 'reason': f'cannot judge: {e}'}))
        return 3
    print(json.dumps({'accept': True, 'reason': why}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
