"""Parity oracle for the model families (run on the GPU machine, where PyTorch and transformers are).

Builds tiny random-weight GPT-2, GPT-J, Llama and GPT-NeoX models from configs alone (nothing is
downloaded), saves each as a Hugging Face folder (config.json + model.safetensors) with what
PyTorch computes for fixed inputs, in float32 on the CPU:
  - logits for a batch of two unpadded sequences, and for a left-padded batch (explicit position ids)
  - the gradient of a target log-likelihood with respect to the MLP output of layer 1
Tests in server/models compare our engine against these (max abs logit error < 1e-4).

  python3 reference/make_parity_fixtures.py data/fixtures/parity
"""

import json
import os
import sys

import torch
from safetensors.torch import save_file
import transformers as tf

VOCAB = 96
SEQ = 7


def configs():
    common = dict(vocab_size=VOCAB, tie_word_embeddings=False)
    return {
        "gpt2": tf.GPT2Config(
            vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4, activation_function="gelu_new",
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        ),
        "gptj": tf.GPTJConfig(
            vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4, rotary_dim=4,
            activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        ),
        "llama": tf.LlamaConfig(
            hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=500.0, **common,
        ),
        "neox": tf.GPTNeoXConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=64, rotary_pct=0.5, rotary_emb_base=10000, use_parallel_residual=True,
            hidden_act="gelu", hidden_dropout=0.0, attention_dropout=0.0, **common,
        ),
        # the sequential-residual variant of NeoX (Pythia uses parallel; some NeoX models don't)
        "neox-sequential": tf.GPTNeoXConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            max_position_embeddings=64, rotary_pct=0.25, rotary_emb_base=10000, use_parallel_residual=False,
            hidden_act="gelu", hidden_dropout=0.0, attention_dropout=0.0, **common,
        ),
    }


def mlp_module(model, family, layer):
    if family == "gpt2" or family == "gptj":
        return model.transformer.h[layer].mlp
    if family == "llama":
        return model.model.layers[layer].mlp
    return model.gpt_neox.layers[layer].mlp


def randomise(model, seed):
    """Weights with std 0.2 (norm gains around 1) so logits are far from uniform and errors show."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("ln" in name or "norm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def main(out_dir):
    torch.manual_seed(0)
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(1))
    targets = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(2))
    padded_mask = torch.tensor([[1] * SEQ, [0, 0] + [1] * (SEQ - 2)])
    padded_positions = (padded_mask.cumsum(-1) - 1).clamp(min=0)
    report = {}
    for seed, (family, config) in enumerate(configs().items()):
        try:
            config._attn_implementation = "eager"
            model = tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager").float().eval()
            randomise(model, 100 + seed)
            folder = os.path.join(out_dir, family)
            os.makedirs(folder, exist_ok=True)
            model.save_pretrained(folder, safe_serialization=True)

            captured = {}

            def keep(_module, _inputs, output):
                output.retain_grad()
                captured["mlp_out"] = output

            handle = mlp_module(model, family, 1).register_forward_hook(keep)
            out = model(input_ids=ids)
            handle.remove()
            logp = torch.log_softmax(out.logits, -1)
            # the summed log-likelihood of random targets: its gradient reaches every position
            loss = logp.gather(-1, targets.unsqueeze(-1)).sum()
            loss.backward()
            with torch.no_grad():
                padded = model(input_ids=ids, attention_mask=padded_mask, position_ids=padded_positions).logits
            save_file(
                {
                    "input_ids": ids.to(torch.int32).contiguous(),
                    "targets": targets.to(torch.int32).contiguous(),
                    "logits": out.logits.detach().contiguous(),
                    "mlp_out_grad_layer1": captured["mlp_out"].grad.detach().contiguous(),
                    "padded_mask": padded_mask.to(torch.int32).contiguous(),
                    "padded_logits": padded.contiguous(),
                },
                os.path.join(folder, "expected.safetensors"),
            )
            report[family] = {"ok": True, "files": sorted(os.listdir(folder)), "logit_absmax": float(out.logits.abs().max())}
        except Exception as err:  # report and go on: one family failing must not hide the others
            report[family] = {"ok": False, "error": repr(err)}
    report["versions"] = {"torch": torch.__version__, "transformers": tf.__version__}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/fixtures/parity")
