package ai.colbertedge.core.index;

/**
 * Exact late-interaction scoring (edge_index/maxsim.py): for a query Q {@code [q][dim]} and a
 * document D {@code [n][dim]},
 * {@code score(Q, D) = sum over query tokens i of max over document tokens j of Q[i] . D[j]};
 * no length division. Example by hand: Q = [[1,0],[0,1]], D = [[1,0],[0.6,0.8]] gives 1.0 + 0.8 = 1.8.
 */
public final class MaxSim {
    private MaxSim() {
    }

    /** Dot product of two equal-length rows, accumulated in float. */
    public static float dot(float[] a, float[] b) {
        float sum = 0f;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /** MaxSim of one query against one document (the document needs at least one token). */
    public static float score(float[][] query, float[][] document) {
        if (document.length == 0) {
            throw new IllegalArgumentException("a document needs at least one token vector");
        }
        float total = 0f;
        for (float[] q : query) {
            float best = Float.NEGATIVE_INFINITY;
            for (float[] d : document) {
                float s = dot(q, d);
                if (s > best) {
                    best = s;
                }
            }
            total += best;
        }
        return total;
    }
}
