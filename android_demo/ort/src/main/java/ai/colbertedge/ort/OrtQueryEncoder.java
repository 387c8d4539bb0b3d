package ai.colbertedge.ort;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Manifest;
import ai.colbertedge.core.QueryEncoder;
import ai.colbertedge.core.QueryTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.io.File;
import java.io.IOException;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@link QueryEncoder} over ONNX Runtime's Java API (the same {@code ai.onnxruntime} package in
 * {@code com.microsoft.onnxruntime:onnxruntime} on a desktop JVM and
 * {@code com.microsoft.onnxruntime:onnxruntime-android} in the app): the bundle's manifest and
 * tokenizer make the inputs ({@link QueryTokenizer}), the graph returns {@code (1, seq, dim)}
 * L2-normalised vectors, the kept positions are returned, as {@code Encoder.encode_queries} does.
 * Queries are encoded one at a time: with query expansion they all have query_length positions,
 * and a query's vectors never depend on its batch.
 */
public final class OrtQueryEncoder implements QueryEncoder {
    private final OrtEnvironment env;
    private final OrtSession.SessionOptions options; // must outlive the session
    private final OrtSession session;
    private final Manifest manifest;
    private final QueryTokenizer tokenizer;

    private OrtQueryEncoder(OrtEnvironment env, OrtSession.SessionOptions options, OrtSession session,
                            Manifest manifest, QueryTokenizer tokenizer) {
        this.env = env;
        this.options = options;
        this.session = session;
        this.manifest = manifest;
        this.tokenizer = tokenizer;
    }

    /** Open a bundle folder (manifest.json, tokenizer.json, model.onnx with its weights in model.onnx.data; hashes checked). */
    public static OrtQueryEncoder load(File bundle, int threads) throws IOException, OrtException {
        Manifest manifest = Manifest.read(bundle, true);
        QueryTokenizer tokenizer = QueryTokenizer.load(bundle, manifest);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session;
        try {
            options.setIntraOpNumThreads(Math.max(1, threads));
            session = env.createSession(new File(bundle, Manifest.MODEL_FILE).getPath(), options);
        } catch (OrtException exc) {
            options.close();
            throw exc;
        }
        Set<String> declared = session.getInputNames();
        if (!declared.equals(new java.util.HashSet<>(manifest.onnxInputs))) {
            session.close();
            options.close();
            throw new FormatError(bundle + "/model.onnx declares inputs " + declared + ", the manifest says "
                    + manifest.onnxInputs + "; re-export the bundle");
        }
        return new OrtQueryEncoder(env, options, session, manifest, tokenizer);
    }

    @Override
    public float[][] encodeQuery(String text) throws OrtException {
        QueryTokenizer.Tokens tokens = tokenizer.encode(text);
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (String name : manifest.onnxInputs) {
                long[] data;
                if (name.equals("input_ids")) {
                    data = tokens.inputIds;
                } else if (name.equals("attention_mask")) {
                    data = tokens.attentionMask;
                } else if (name.equals("token_type_ids")) {
                    data = new long[tokens.inputIds.length];
                } else {
                    throw new FormatError("graph input '" + name + "' is not one the encoder can feed; re-export the bundle");
                }
                feeds.put(name, OnnxTensor.createTensor(env, new long[][] {data}));
            }
            try (OrtSession.Result result = session.run(feeds, Collections.singleton(manifest.onnxOutput))) {
                float[][] out = ((float[][][]) result.get(0).getValue())[0]; // (seq, dim)
                int kept = 0;
                for (boolean k : tokens.keep) {
                    kept += k ? 1 : 0;
                }
                float[][] vectors = new float[kept][];
                for (int i = 0, j = 0; i < out.length; i++) {
                    if (tokens.keep[i]) {
                        vectors[j++] = out[i];
                    }
                }
                return vectors;
            }
        } finally {
            for (OnnxTensor tensor : feeds.values()) {
                tensor.close();
            }
        }
    }

    @Override
    public int dim() {
        return manifest.dim;
    }

    @Override
    public String fingerprint() {
        return manifest.fingerprint;
    }

    @Override
    public void close() throws IOException {
        try {
            session.close();
        } catch (OrtException exc) {
            throw new IOException("closing the ONNX Runtime session failed: " + exc.getMessage(), exc);
        } finally {
            options.close();
        }
    }
}
