"""infer.py MODEL DATA: top-1 predictions of a model written by train.py for rows of 8x8
digits (a CSV of p0..p63, pixel values 0..16, optionally with a first column `label`).
Writes /outputs/predictions.csv (row,label) and /outputs/metrics.json (rows; with labels
also correct and accuracy), and prints the accuracy when the rows are labelled.
Exit codes: 0 done, 2 bad input (a malformed model or data file).
"""
import argparse
import sys

import mlp


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('model')
    ap.add_argument('data')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    a = ap.parse_args()
    torch = mlp.deterministic(max(1, min(64, a.threads)))
    device = mlp.pick_device(torch, a.device)
    model, meta = mlp.load_weights(torch, a.model)
    x, y = mlp.read_rows(a.data)
    pred = mlp.predict(torch, model.to(device), x, device)
    out = mlp.out_dir()
    with open(f'{out}/predictions.csv', 'w', encoding='utf-8') as f:
        f.write('row,label\n')
        for i, p in enumerate(pred.tolist()):
            f.write(f'{i},{p}\n')
    metrics = {'rows': len(pred), 'device': device, 'modelSeed': meta.get('seed', ''), 'modelEpochs': meta.get('epochs', '')}
    if y is not None:
        correct = int((pred == y).sum())
        metrics.update(correct=correct, accuracy=round(correct / len(pred), 6))
        print(f'accuracy {metrics["accuracy"]:.4f} ({correct}/{len(pred)} labelled rows)')
    else:
        print(f'predicted {len(pred)} rows')
    mlp.write_json(f'{out}/metrics.json', metrics)


if __name__ == '__main__':
    try:
        main()
    except mlp.BadInput as e:
        print(f'infer: {e}', file=sys.stderr)
        sys.exit(2)
