package ai.colbertedge.core;

import java.io.Closeable;

/**
 * Text -> query token vectors, what {@code Encoder.encode_queries} returns in Python: one
 * {@code (n_kept, dim)} float32 array, L2-normalised rows (query_length rows with query expansion).
 * The app plugs in an ONNX Runtime implementation; tests can plug in recorded vectors.
 */
public interface QueryEncoder extends Closeable {
    /** The vectors of one query: {@code [n_kept][dim]}. */
    float[][] encodeQuery(String text) throws Exception;

    /** The embedding dimension. */
    int dim();

    /** The bundle fingerprint; an index built with another bundle refuses these vectors. */
    String fingerprint();
}
