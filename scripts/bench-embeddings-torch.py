"""PyTorch side of scripts/bench-embeddings (runs in the bench venv).

  bench-embeddings-torch.py sentences OUT.json [COUNT]
      writes COUNT (256) deterministic short English sentences as a JSON array
  bench-embeddings-torch.py embed --model-dir D --sentences F --threads N
      [--repeat R] [--reference REF] [--output OUT]
      times sentence-transformers (fp32, CPU) on the sentences; prints one JSON object
  bench-embeddings-torch.py compare A.json B.json
      prints the max abs difference between two JSON lists of vectors
"""
import argparse
import json
import os
import random
import sys
import time


def make_sentences(path, count):
    rng = random.Random(7)
    subjects = ["The cat", "A young woman", "My neighbour", "The old man", "A small dog",
                "The engineer", "Our team", "The teacher", "A child", "The committee",
                "The chef", "A tourist", "The pilot", "Her brother", "The robot", "A farmer"]
    verbs = ["is reading", "quickly repaired", "painted", "found", "is cooking",
             "carefully examined", "walked past", "bought", "forgot about", "talked about",
             "is watching", "cleaned"]
    objects = ["a red bicycle.", "the broken window.", "an interesting book about history.",
               "the kitchen table.", "a fresh loaf of bread.", "the train station.",
               "some flowers in the garden.", "the new software release.",
               "a photograph of the mountains.", "the weekly report.", "an old wooden boat.",
               "the noisy printer."]
    sentences = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}" for _ in range(count)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(sentences, f)


def load_model(model_dir):
    """sentence-transformers pipeline (Transformer -> mean pooling -> normalize), offline.

    Falls back to a plain transformers BertModel built from the known hyperparameters
    when sentence-transformers cannot load the directory (only safetensors + vocab.txt).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer, models
        word = models.Transformer(model_dir, max_seq_length=256)
        pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(modules=[word, pooling, models.Normalize()], device="cpu")
        return "sentence-transformers", lambda texts, batch: model.encode(
            texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=False)
    except Exception as error:  # noqa: BLE001 - report and fall back
        print(f"sentence-transformers could not load {model_dir}: {error}; using transformers BertModel",
              file=sys.stderr)
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel, BertTokenizerFast
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, hidden_act="gelu", layer_norm_eps=1e-12,
                        max_position_embeddings=512, type_vocab_size=2)
    bert = BertModel(config, add_pooling_layer=True)
    bert.load_state_dict(load_file(os.path.join(model_dir, "model.safetensors")), strict=False)
    bert.eval()
    tokenizer = BertTokenizerFast(os.path.join(model_dir, "vocab.txt"), do_lower_case=True)

    def encode(texts, batch):
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch):
                enc = tokenizer(texts[i:i + batch], padding=True, truncation=True, max_length=256, return_tensors="pt")
                hidden = bert(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, p=2, dim=1))
        return torch.cat(out).numpy()
    return "transformers", encode


def embed(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    with open(args.sentences, encoding="utf-8") as f:
        sentences = json.load(f)
    backend, encode = load_model(args.model_dir)
    best = None
    for batch in (32, len(sentences)):  # sentence-transformers' default, and one big batch
        encode(sentences, batch)  # warm-up
        durations, cpu = [], []
        for _ in range(args.repeat):
            start, cpu_start = time.perf_counter(), time.process_time()
            vectors = encode(sentences, batch)
            durations.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
        durations.sort()
        if best is None or durations[0] < best["bestSeconds"]:
            best = {"batchSize": batch, "bestSeconds": durations[0], "bestCPUSeconds": min(cpu),
                    "medianSeconds": durations[len(durations) // 2], "vectors": vectors}
    report = {"implementation": "pytorch", "backend": backend, "torch": torch.__version__,
              "threads": args.threads, "sentences": len(sentences), "runs": args.repeat,
              "batchSize": best["batchSize"], "bestSeconds": best["bestSeconds"],
              "bestCPUSeconds": best["bestCPUSeconds"],
              "medianSeconds": best["medianSeconds"],
              "embeddingsPerSecond": len(sentences) / best["bestSeconds"]}
    if args.reference:
        with open(args.reference, encoding="utf-8") as f:
            references = json.load(f)
        computed = encode([r["text"] for r in references], 32)
        expected = np.array([r["embedding"] for r in references], dtype=np.float32)
        report["maxAbsDiffReference"] = float(np.abs(computed - expected).max())
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(best["vectors"].tolist(), f)
    print(json.dumps(report, sort_keys=True))


def compare(a_path, b_path):
    import numpy as np
    with open(a_path, encoding="utf-8") as f:
        a = np.array(json.load(f), dtype=np.float32)
    with open(b_path, encoding="utf-8") as f:
        b = np.array(json.load(f), dtype=np.float32)
    print(float(np.abs(a - b).max()))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sentences":
        make_sentences(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 256)
        return
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["embed"])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--sentences", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference")
    parser.add_argument("--output")
    embed(parser.parse_args())


if __name__ == "__main__":
    main()
