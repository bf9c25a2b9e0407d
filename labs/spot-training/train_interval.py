"""A training job whose only purpose is to show what a checkpoint interval costs.

It fits a small linear model by gradient descent, one step per epoch, each epoch made to last
--epoch-seconds. Every --checkpoint-every epochs it saves its state to the checkpoint folder (0: never),
and on start it resumes from the newest checkpoint there. It is given, not an answer: the lab runs it
with different intervals and compares what each job reports.
"""
import argparse
import glob
import os
import time

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--epoch-seconds", type=float, default=0.5)
    parser.add_argument("--checkpoint-every", type=int, default=1)
    parser.add_argument("--checkpoint-dir", default="/opt/ml/checkpoints")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    return parser.parse_args()


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 5))
    targets = features @ np.arange(1.0, 6.0)
    weights, done = np.zeros(5), 0

    saved = sorted(glob.glob(os.path.join(args.checkpoint_dir, "epoch-*.npz")))
    if saved:
        with np.load(saved[-1]) as state:
            weights, done = state["weights"], int(state["epoch"])
        print(f"resuming after epoch {done}", flush=True)
    else:
        print("no checkpoint: starting at epoch 1", flush=True)

    for epoch in range(done + 1, args.epochs + 1):
        weights = weights - 0.1 * features.T @ (features @ weights - targets) / len(features)
        time.sleep(args.epoch_seconds)
        loss = float(np.mean((features @ weights - targets) ** 2))
        print(f"epoch {epoch}/{args.epochs}: loss {loss:.4f}", flush=True)
        if args.checkpoint_every > 0 and epoch % args.checkpoint_every == 0:
            os.makedirs(args.checkpoint_dir, exist_ok=True)
            path = os.path.join(args.checkpoint_dir, f"epoch-{epoch:04d}.npz")
            with open(path + ".partial", "wb") as out:  # renamed once whole
                np.savez(out, weights=weights, epoch=epoch)
            os.replace(path + ".partial", path)

    os.makedirs(args.model_dir, exist_ok=True)
    np.save(os.path.join(args.model_dir, "weights.npy"), weights)
    print(f"model saved after {args.epochs} epochs", flush=True)


if __name__ == "__main__":
    main()
