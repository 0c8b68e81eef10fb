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
Beside them, t5/buckets.safetensors holds T5's relative position buckets for relative positions
-160..160 (bidirectional and causal; the tiny models' 8/20 and the released models' 32/128), and
t5/tokenizer-cases.json texts with their ids from the Rust tokenizers library.

The issue asks for the GPU machine; this runs there or anywhere with CPU PyTorch: every number
here is computed in float32 on the CPU, the same oracle either way (the other reference/ scripts
compute on the CPU too).

  /work/.venv-ref/bin/python reference/make_t5_fixtures.py data/fixtures/t5
"""

import json
import os
import sys

import torch
import transformers as tf
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
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
]


def build_tokenizer():
    """SentencePiece-style Unigram as T5's tokenizer.json stores it: Metaspace pre-tokenizer and
    decoder (prefix space always), "$A </s>" post-processor, <pad>=0 </s>=1 <unk>=2."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=80, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", shrinking_factor=0.75
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    assert tok.token_to_id("<pad>") == 0 and tok.token_to_id("</s>") == 1 and tok.token_to_id("<unk>") == 2
    assert tok.get_vocab_size() <= VOCAB, tok.get_vocab_size()
    return tok


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
    tok = build_tokenizer()
    cases = [{"text": t, "ids": tok.encode(t).ids, "tokens": tok.encode(t).tokens} for t in TOKENIZER_CASES]
    with open(os.path.join(out_dir, "tokenizer-cases.json"), "w") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
    save_file(buckets(), os.path.join(out_dir, "buckets.safetensors"))

    encoder_ids = torch.randint(3, VOCAB, (2, ENC_LEN), generator=torch.Generator().manual_seed(1))
    decoder_ids = torch.randint(3, VOCAB, (2, DEC_LEN), generator=torch.Generator().manual_seed(2))
    decoder_ids[:, 0] = 0  # the decoder start token is the pad id
    targets = torch.randint(0, VOCAB, (2, DEC_LEN), generator=torch.Generator().manual_seed(3))
    encoder_mask = torch.ones(2, ENC_LEN, dtype=torch.long)
    encoder_mask[1, -2:] = 0
    report = {"tokenizer_vocab": tok.get_vocab_size()}
    for seed, (name, config) in enumerate(configs().items()):
        model = tf.T5ForConditionalGeneration(config).float().eval()
        randomise(model, 200 + seed)
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        tok.save(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "model_max_length": 512}, f, indent=1)

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
