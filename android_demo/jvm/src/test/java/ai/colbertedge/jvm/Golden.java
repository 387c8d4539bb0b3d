package ai.colbertedge.jvm;

import ai.colbertedge.core.Json;
import ai.colbertedge.core.Manifest;

import java.io.File;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * The golden files android_demo/golden/make_golden.py wrote in this CI run: found through the
 * system property {@code golden.dir} or the environment variable {@code COLBERT_EDGE_GOLDEN}.
 * Without them every golden test fails (never skips): a contract test that silently skips
 * cannot catch drift.
 */
final class Golden {
    static final double VECTOR_TOLERANCE = 1e-5;
    static final double SCORE_TOLERANCE = 1e-4; // relative to max(1, |score|)
    private static Map<String, Object> cached;

    private Golden() {
    }

    static File dir() {
        String dir = System.getProperty("golden.dir", System.getenv("COLBERT_EDGE_GOLDEN"));
        if (dir == null || !new File(dir, "golden.json").isFile()) {
            throw new IllegalStateException("golden files not found (golden.dir=" + dir + "); run "
                    + "'python android_demo/golden/make_golden.py OUT BUNDLES' and pass -Dgolden.dir=OUT");
        }
        return new File(dir);
    }

    static synchronized Map<String, Object> data() throws IOException {
        if (cached == null) {
            cached = Json.object(Json.parse(Manifest.readText(new File(dir(), "golden.json"))), "golden.json");
        }
        return cached;
    }

    static Map<String, Object> map(Object value) {
        return Json.object(value, "golden value");
    }

    static List<Object> list(Object value) {
        return Json.array(value, "golden value");
    }

    static List<Object> queries() throws IOException {
        return list(data().get("queries"));
    }

    static File bundle(String name) throws IOException {
        return new File(Json.string(map(data().get("bundles")).get(name), "bundle path"));
    }

    static float[][] matrix(Object value) {
        List<Object> rows = list(value);
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            List<Object> row = list(rows.get(i));
            out[i] = new float[row.size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = (float) Json.number(row.get(j), "golden vector value");
            }
        }
        return out;
    }

    static long[] longs(Object value) {
        List<Object> items = list(value);
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = Json.integer(items.get(i), "golden integer");
        }
        return out;
    }

    /** A JSON integer as an int, or null for JSON null (the golden settings' "all"). */
    static Integer intOrNull(Object value) {
        return value == null ? null : (int) Json.integer(value, "golden setting");
    }

    /** Largest absolute difference of two matrices, or +inf if their shapes differ. */
    static double maxAbsDiff(float[][] a, float[][] b) {
        if (a.length != b.length) {
            return Double.POSITIVE_INFINITY;
        }
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i].length != b[i].length) {
                return Double.POSITIVE_INFINITY;
            }
            for (int j = 0; j < a[i].length; j++) {
                worst = Math.max(worst, Math.abs(a[i][j] - b[i][j]));
            }
        }
        return worst;
    }

    static boolean scoreClose(double expected, double actual) {
        return Math.abs(expected - actual) <= SCORE_TOLERANCE * Math.max(1.0, Math.abs(expected));
    }

    static String shortQuery(Object query) {
        String q = String.valueOf(query).replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
                .replace("\u0000", "\\0").replace("\u0007", "\\a");
        return "'" + (q.length() > 40 ? q.substring(0, 40) + "…" : q) + "'";
    }
}
