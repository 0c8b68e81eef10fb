"""Parity oracle for the T5 family (server/models/families/t5.ts).

Builds two tiny random-weight T5 models with transformers from configs alone (nothing is
downloaded) and saves each as a Hugging Face folder (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json) with what PyTorch computes for fixed inputs:
  - t5-v1_0: T5Config's own style (ReLU FFN, tied embeddings, so the decoder output is scaled by
    d_model^-0.5 before the LM head)
  - t5-v1_1: gated-GELU FFN (gelu_new, the tanh approximation), untied lm_head
and in each folder expected.safetensors:
  - encoder_ids [2, S], decoder_ids [2, T] (decoder start token = pad id 0), targets [2, T]
  - logits [2, T, V] (teacher forced) and padded_logits with encoder_mask (two right pads in row 1)
  - the gradient of sum(log p(targets)) with respect to decoder block 1's FFN output weight
    (wo) and encoder block 0's first FFN input weight (wi / wi_0)
  - greedy_ids: transformers' greedy generate() (8 new tokens, its own KV cache)
Both folders hold the same tokenizer: a SentencePiece Unigram model trained here on a few
sentences, converted by transformers (see build_tokenizer). Beside them, t5/buckets.safetensors
holds T5's relative position buckets for relative positions -160..160 (bidirectional and causal;
the tiny models' 8/20 and the released models' 32/128), and t5/tokenizer-cases.json texts with
their ids from the Rust tokenizers library (equal to sentencepiece's own).

The issue asks for the GPU machine; this runs there or anywhere with CPU PyTorch: every number
here is computed in float32 on the CPU, the same oracle either way (the other reference/ scripts
compute on the CPU too).

  /work/.venv-ref/bin/python reference/make_t5_fixtures.py data/fixtures/t5
"""

import io
import json
import os
import shutil
import sys
import tempfile

import torch
import transformers as tf
from safetensors.torch import save_file
import sentencepiece as spm
from transformers.models.t5.modeling_t5 import T5Attention

VOCAB = 96
ENC_LEN = 9
DEC_LEN = 6
NEW_TOKENS = 8

# A tiny corpus for the Unigram tokenizer (trained here: no download).
CORPUS = [
    "The mother tongue of Danielle Darrieux is French.",
    "Paris is the capital of France.",
    "The Eiffel Tower is in Paris.",
    "Danielle Darrieux was an actress.",
    "translate English to German: The house is wonderful.",
    "summarize: the cat sat on the mat and the dog sat on the rug.",
    "question: what is the capital of France? context: Paris is the capital of France.",
    "Rome is the capital of Italy, Berlin of Germany, Madrid of Spain.",
]
TOKENIZER_CASES = [
    "The mother tongue of Danielle Darrieux is",
    "Paris is the capital of France.",
    "translate English to German: The cat is on the mat.",
    "Zebras quietly sat",
    "two  spaces  and a trailing one ",
]


def build_tokenizer(work_dir):
    """A SentencePiece Unigram model trained on CORPUS (pad 0, </s> 1, <unk> 2, no BOS: T5's ids),
    converted to tokenizer.json by transformers' own T5 converter, as Hugging Face ships T5.
    One difference from the released T5 files: the identity normalisation rule instead of
    nmt_nfkc, whose precompiled character map alone is about 240 KB; the converter still writes
    T5's Strip + Replace(" {2,}") normalizer, Metaspace pre-tokenizer and decoder, "$A </s>"."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, vocab_size=90, model_type="unigram", pad_id=0, eos_id=1,
        unk_id=2, bos_id=-1, hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity",
        minloglevel=2,
    )
    spiece = os.path.join(work_dir, "spiece.model")
    with open(spiece, "wb") as f:
        f.write(model.getvalue())
    slow = tf.T5Tokenizer(spiece, extra_ids=0, legacy=True)
    fast = tf.T5TokenizerFast(vocab_file=spiece, extra_ids=0, from_slow=True, legacy=True)
    for text in TOKENIZER_CASES:
        assert slow(text).input_ids == fast(text).input_ids, text  # sentencepiece itself agrees
    assert fast.convert_tokens_to_ids(["<pad>", "</s>", "<unk>"]) == [0, 1, 2]
    assert len(fast) <= VOCAB, len(fast)
    return fast


def configs():
    common = dict(
        vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=20, dropout_rate=0.0,
        layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    return {
        "t5-v1_0": tf.T5Config(feed_forward_proj="relu", tie_word_embeddings=True, **common),
        "t5-v1_1": tf.T5Config(feed_forward_proj="gated-gelu", tie_word_embeddings=False, **common),
    }


def randomise(model, seed):
    """Weights with std 0.2, norm gains around 1, position biases with std 1 (so the buckets
    matter), so logits are far from uniform and errors show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "relative_attention_bias" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def buckets():
    rel = torch.arange(-160, 161)
    out = {"relative_positions": rel.to(torch.int32)}
    for num, dist in [(8, 20), (32, 128)]:
        for bidirectional in [True, False]:
            b = T5Attention._relative_position_bucket(rel, bidirectional=bidirectional, num_buckets=num, max_distance=dist)
            out[f"{'bi' if bidirectional else 'causal'}_{num}_{dist}"] = b.to(torch.int32)
    return out


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tokenizer_dir = tempfile.mkdtemp()
    tok = build_tokenizer(tokenizer_dir)
    tok.save_pretrained(tokenizer_dir)
    cases = [{"text": t, "ids": tok(t).input_ids, "tokens": tok.convert_ids_to_tokens(tok(t).input_ids)} for t in TOKENIZER_CASES]
    with open(os.path.join(out_dir, "tokenizer-cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
    save_file(buckets(), os.path.join(out_dir, "buckets.safetensors"))

    encoder_ids = torch.randint(3, VOCAB, (2, ENC_LEN), generator=torch.Generator().manual_seed(1))
    decoder_ids = torch.randint(3, VOCAB, (2, DEC_LEN), generator=torch.Generator().manual_seed(2))
    decoder_ids[:, 0] = 0  # the decoder start token is the pad id
    targets = torch.randint(0, VOCAB, (2, DEC_LEN), generator=torch.Generator().manual_seed(3))
    encoder_mask = torch.ones(2, ENC_LEN, dtype=torch.long)
    encoder_mask[1, -2:] = 0
    report = {"tokenizer_vocab": len(tok)}
    for seed, (name, config) in enumerate(configs().items()):
        model = tf.T5ForConditionalGeneration(config).float().eval()
        randomise(model, 200 + seed)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(os.path.join(tokenizer_dir, name), folder)

        wo = model.decoder.block[1].layer[2].DenseReluDense.wo.weight
        ffn = model.encoder.block[0].layer[1].DenseReluDense
        wi = ffn.wi.weight if hasattr(ffn, "wi") else ffn.wi_0.weight
        model.zero_grad()
        out = model(input_ids=encoder_ids, decoder_input_ids=decoder_ids)
        loss = torch.log_softmax(out.logits, -1).gather(-1, targets.unsqueeze(-1)).sum()
        loss.backward()
        with torch.no_grad():
            padded = model(input_ids=encoder_ids, attention_mask=encoder_mask, decoder_input_ids=decoder_ids).logits
            greedy = model.generate(
                input_ids=encoder_ids, attention_mask=encoder_mask, max_new_tokens=NEW_TOKENS, do_sample=False,
                num_beams=1,
            )
        save_file(
            {
                "encoder_ids": encoder_ids.to(torch.int32).contiguous(),
                "decoder_ids": decoder_ids.to(torch.int32).contiguous(),
                "targets": targets.to(torch.int32).contiguous(),
                "logits": out.logits.detach().contiguous(),
                "encoder_mask": encoder_mask.to(torch.int32).contiguous(),
                "padded_logits": padded.contiguous(),
                "grad_decoder_1_wo": wo.grad.detach().contiguous(),
                "grad_encoder_0_wi": wi.grad.detach().contiguous(),
                "greedy_ids": greedy.to(torch.int32).contiguous(),
            },
            os.path.join(folder, "expected.safetensors"),
        )
        report[name] = {
            "files": sorted(os.listdir(folder)),
            "logit_absmax": float(out.logits.abs().max()),
            "loss": float(loss),
            "greedy": greedy.tolist(),
        }
    report["versions"] = {"torch": torch.__version__, "transformers": tf.__version__}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/t5")
