"""train.py: trains a small MLP (64 → hidden → 10) with PyTorch on scikit-learn's bundled
handwritten digits and writes to /outputs:
  model.safetensors  the weights (see mlp.py)
  metrics.json       accuracy on the held-back digits, the final training loss, the settings
  holdout.csv        the held-back digits (label,p0..p63), to test the model with (infer)
Everything that decides the result is fixed: the split, the seeds, the thread count, the
kernels (deterministic algorithms), so the same inputs give the same bytes on CPU.
Exit codes: 0 done, 2 bad input.
"""
import argparse
import sys

import mlp


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--hidden', type=int, default=32)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--holdout', type=int, default=360)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr-milli', type=int, default=10, help='learning rate in thousandths')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto')
    a = ap.parse_args()
    if not (1 <= a.hidden <= mlp.MAX_HIDDEN and 1 <= a.epochs <= 500 and 1 <= a.batch <= 4096 and 1 <= a.lr_milli <= 1000 and 1 <= a.threads <= 64):
        raise mlp.BadInput('hidden 1..1024, epochs 1..500, batch 1..4096, lr-milli 1..1000, threads 1..64')
    torch = mlp.deterministic(a.threads)
    device = mlp.pick_device(torch, a.device)
    x, y = mlp.digits()
    if not (10 <= a.holdout <= len(x) // 2):
        raise mlp.BadInput(f'holdout must be 10..{len(x) // 2}')
    train_idx, hold_idx = mlp.split(len(x), a.holdout)

    torch.manual_seed(a.seed)
    model = mlp.build(torch, a.hidden).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr_milli / 1000)
    xt = torch.tensor(x[train_idx] / 16.0, dtype=torch.float32, device=device)
    yt = torch.tensor(y[train_idx], dtype=torch.int64, device=device)
    order = torch.Generator().manual_seed(a.seed)
    n = len(train_idx)
    loss_sum = 0.0
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(n, generator=order).to(device)
        loss_sum = 0.0
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)

    pred = mlp.predict(torch, model, x[hold_idx], device)
    correct = int((pred == y[hold_idx]).sum())
    out = mlp.out_dir()
    mlp.save_weights(f'{out}/model.safetensors', model, a.hidden, {'seed': str(a.seed), 'epochs': str(a.epochs)})
    mlp.write_rows(f'{out}/holdout.csv', x[hold_idx], y[hold_idx])
    metrics = {
        'accuracy': round(correct / len(hold_idx), 6),
        'correct': correct,
        'holdout': len(hold_idx),
        'trainRows': n,
        'finalLoss': round(loss_sum / n, 6),
        'epochs': a.epochs,
        'hidden': a.hidden,
        'seed': a.seed,
        'batch': a.batch,
        'lrMilli': a.lr_milli,
        'device': device,
        'torch': torch.__version__,
    }
    mlp.write_json(f'{out}/metrics.json', metrics)
    print(f'accuracy {metrics["accuracy"]:.4f} ({correct}/{len(hold_idx)} held-back digits) after {a.epochs} epochs on {device}; final loss {metrics["finalLoss"]}')


if __name__ == '__main__':
    try:
        main()
    except mlp.BadInput as e:
        print(f'train: {e}', file=sys.stderr)
        sys.exit(2)
