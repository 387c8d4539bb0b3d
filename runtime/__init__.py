"""colbert_edge.runtime: on-device encoder. onnxruntime + tokenizers + numpy; never imports torch.

    from colbert_edge.runtime import Encoder
    with Encoder.load("bundle/") as enc:
        q = enc.encode_queries(["¿dónde está mi nota?"])[0]     # (query_length, dim) float32
        d = enc.encode_documents(["Meine Notiz ..."])           # [(n_kept_tokens, dim) float32]
"""

from colbert_edge.runtime.encoder import Encoder, Progress
from colbert_edge.runtime.manifest import Manifest, TokenContract, read_manifest
from colbert_edge.runtime.tokenization import ContractTokenizer, TokenBatch

__all__ = ["Encoder", "Progress", "Manifest", "TokenContract", "read_manifest", "ContractTokenizer", "TokenBatch"]
