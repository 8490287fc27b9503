#!/usr/bin/python3
"""gensim's side of bench/run_word2vec.sh: train word2vec on a text file, score vector
files with gensim's own evaluators, and compare the neighbour lists of two vector files.

  word2vec_gensim.py train   --input FILE --out FILE.bin [--seed N] [--threads N] [--epochs N]
  word2vec_gensim.py eval    --vectors FILE.bin --similarity FILE --analogies FILE
  word2vec_gensim.py overlap --a FILE.bin --b FILE.bin [--first 11] [--count 100] [--top 10]

train: skip-gram, dim 100, window 5, negative 5, hs 0, sample 1e-3, min_count 5, alpha
0.025 -> 0.0001 (gensim's defaults, which are word2vec.c's), on LineSentence (one sentence
a line, split on white space): the same sentences zoo reads. The vocabulary is built
first; only model.train() is timed, and words/s is the raw words of the corpus (out-of-
vocabulary ones included) times the epochs over that time, which is what zoo reports.
Prints one JSON line. Vectors are saved in word2vec's binary format.

eval: gensim's KeyedVectors.evaluate_word_pairs (Spearman) and evaluate_word_analogies
(accuracy), default settings (restrict_vocab 300000, case_insensitive). One JSON line.

overlap: for the words ranked FIRST..FIRST+COUNT-1 by frequency in file A (1-based),
the mean fraction of A's TOP nearest neighbours (cosine) that are also among B's. One
JSON line.
"""
import argparse
import json
import logging
import sys
import time


def train(args):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    sentences = LineSentence(args.input)
    model = Word2Vec(sg=1, vector_size=100, window=5, negative=5, hs=0, sample=1e-3, min_count=5,
                     alpha=0.025, min_alpha=0.0001, epochs=args.epochs, workers=args.threads, seed=args.seed)
    start = time.perf_counter()
    model.build_vocab(sentences)
    prepare = time.perf_counter() - start
    start = time.perf_counter()
    effective, raw = model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    seconds = time.perf_counter() - start
    model.wv.save_word2vec_format(args.out, binary=True)
    print(json.dumps({"vectors": args.out, "vocab_size": len(model.wv), "raw_words": raw,
                      "effective_words": effective, "prepare_seconds": prepare, "seconds": seconds,
                      "words_per_second": raw / seconds, "threads": args.threads, "seed": args.seed}))


def evaluate(args):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(args.vectors, binary=args.vectors.endswith(".bin"))
    pearson, spearman, oov = kv.evaluate_word_pairs(args.similarity)
    accuracy, sections = kv.evaluate_word_analogies(args.analogies)
    total = sections[-1]
    print(json.dumps({"vectors": args.vectors, "spearman": float(spearman[0]), "pearson": float(pearson[0]),
                      "similarity_oov_percent": oov, "accuracy": accuracy, "correct": len(total["correct"]),
                      "answered": len(total["correct"]) + len(total["incorrect"])}))


def overlap(args):
    from gensim.models import KeyedVectors

    a = KeyedVectors.load_word2vec_format(args.a, binary=args.a.endswith(".bin"))
    b = KeyedVectors.load_word2vec_format(args.b, binary=args.b.endswith(".bin"))
    words = [w for w in a.index_to_key[args.first - 1:args.first - 1 + args.count]]
    shares = []
    for w in words:
        if w not in b.key_to_index:
            shares.append(0.0)
            continue
        na = {x for x, _ in a.most_similar(w, topn=args.top)}
        nb = {x for x, _ in b.most_similar(w, topn=args.top)}
        shares.append(len(na & nb) / args.top)
    print(json.dumps({"a": args.a, "b": args.b, "words": len(words), "first": args.first, "top": args.top,
                      "overlap": sum(shares) / len(shares)}))


def main():
    logging.basicConfig(level=logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--input", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--epochs", type=int, default=5)
    e = sub.add_parser("eval")
    e.add_argument("--vectors", required=True)
    e.add_argument("--similarity", required=True)
    e.add_argument("--analogies", required=True)
    o = sub.add_parser("overlap")
    o.add_argument("--a", required=True)
    o.add_argument("--b", required=True)
    o.add_argument("--first", type=int, default=11)
    o.add_argument("--count", type=int, default=100)
    o.add_argument("--top", type=int, default=10)
    args = p.parse_args()
    {"train": train, "eval": evaluate, "overlap": overlap}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
