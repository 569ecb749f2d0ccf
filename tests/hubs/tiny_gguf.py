"""Write a small but real GGUF file (llama architecture) with the gguf package.

Fast to hash and parse, so store and hub tests need no big model. It is not meant to
run inference: the weights are tiny random tensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_tiny_gguf(path: Path, *, name: str = "tiny-llama", seed: int = 0) -> Path:
    """Write a 2-layer llama-arch GGUF with the usual metadata keys; return ``path``."""
    from gguf import GGUFWriter
    from gguf.constants import LlamaFileType

    rng = np.random.default_rng(seed)
    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(2048)
    writer.add_embedding_length(64)
    writer.add_block_count(2)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    tokens = ["<s>", "</s>", *[f"t{i}" for i in range(30)]]
    writer.add_token_list(tokens)
    writer.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    writer.add_tensor("token_embd.weight", rng.standard_normal((len(tokens), 64), dtype=np.float32))
    for layer in range(2):
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", np.ones(64, dtype=np.float32))
        writer.add_tensor(
            f"blk.{layer}.attn_q.weight", rng.standard_normal((64, 64), dtype=np.float32)
        )
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
