package ai.colbertedge.jvm;

import ai.colbertedge.core.QueryEncoder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.io.File;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX Runtime adapter (android_demo/ort) encodes the golden queries to the Python runtime's
 * vectors. Runs only when the ONNX Runtime Java API is on the classpath (.ci/android.sh compiles
 * the adapter then); otherwise JUnit reports it as skipped, with the reason.
 */
class OrtEncoderTest {
    static boolean ortAvailable() {
        try {
            Class.forName("ai.onnxruntime.OrtEnvironment");
            Class.forName("ai.colbertedge.ort.OrtQueryEncoder");
            return true;
        } catch (ClassNotFoundException exc) {
            return false;
        }
    }

    @Test
    @EnabledIf(value = "ortAvailable",
            disabledReason = "ONNX Runtime Java API not on the classpath (no onnxruntime jar on this machine; set ONNXRUNTIME_JAR)")
    void encodesGoldenQueriesLikePython() throws Exception {
        File bundle = Golden.bundle("lfm2-fp32");
        List<Object> queries = Golden.queries();
        List<Object> vectors = Golden.list(Golden.map(Golden.data().get("query_vectors")).get("lfm2-fp32"));
        try (QueryEncoder encoder = (QueryEncoder) Class.forName("ai.colbertedge.ort.OrtQueryEncoder")
                .getMethod("load", File.class, int.class).invoke(null, bundle, 1)) {
            for (int i = 0; i < queries.size(); i++) {
                float[][] got = encoder.encodeQuery((String) queries.get(i));
                float[][] want = Golden.matrix(vectors.get(i));
                assertEquals(want.length, got.length, "vectors of query " + i);
                double diff = Golden.maxAbsDiff(want, got);
                assertTrue(diff <= 1e-4, "query " + i + " vectors differ by " + diff);
            }
        }
    }
}
