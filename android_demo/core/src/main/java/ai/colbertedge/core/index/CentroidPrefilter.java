package ai.colbertedge.core.index;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Centroid probing and the centroid-level approximate score (edge_index/centroids.py probe,
 * edge_index/postings.py approximate):
 *
 * <pre>
 * approx(Q, D) = sum over query tokens i of max over probed centroids c of token i that D holds of Q[i].C[c]
 * </pre>
 * where a token none of whose probed centroids D holds scores its weakest probed centroid
 * (missing-similarity imputation). Documents holding none of the probed centroids are not candidates.
 */
public final class CentroidPrefilter {
    private final float[][] centroids; // [K][dim]
    private final long[][] lists; // centroid -> ascending doc_nos

    /** Candidate doc_nos (ascending) with their approximate scores, and the nprobe that found them. */
    public static final class Candidates extends Scored {
        public final int probe;

        Candidates(int probe, long[] docNos, float[] approx) {
            super(docNos, approx);
            this.probe = probe;
        }
    }

    public CentroidPrefilter(float[][] centroids, long[][] lists) {
        this.centroids = centroids;
        this.lists = lists;
    }

    /**
     * Documents with their centroid-interaction scores and token counts ({@code documents.n_tokens}),
     * in any order; {@link #keep} is the cut before exact MaxSim.
     */
    public static final class Interaction extends Scored {
        public final int[] nTokens;

        public Interaction(long[] docNos, int[] nTokens, float[] scores) {
            super(docNos, scores);
            if (nTokens.length != docNos.length) {
                throw new IllegalArgumentException(docNos.length + " doc_nos but " + nTokens.length + " token counts");
            }
            this.nTokens = nTokens;
        }

        /**
         * The documents exact MaxSim scores (edge_index/searcher.py {@code search_one}), ascending
         * doc_no: in order of score (ties: lower doc_no first) the first {@code candidates}, and then
         * the following ones while all kept documents hold at most {@code exactTokens} tokens in all
         * ({@code exactTokens} null = exactly {@code candidates}; all of them if fewer).
         */
        public long[] keep(int candidates, Integer exactTokens) {
            int n = docNos.length;
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> scores[a] > scores[b] ? -1 : scores[a] < scores[b] ? 1
                    : Long.compare(docNos[a], docNos[b]));
            int keep = candidates;
            if (exactTokens != null) {
                long total = 0;
                int fit = 0;
                while (fit < n && total + nTokens[order[fit]] <= exactTokens) {
                    total += nTokens[order[fit++]];
                }
                keep = Math.max(keep, fit);
            }
            long[] out = new long[Math.min(keep, n)];
            for (int i = 0; i < out.length; i++) {
                out[i] = docNos[order[i]];
            }
            Arrays.sort(out);
            return out;
        }
    }

    /**
     * PLAID's centroid interaction (edge_index/searcher.py {@code centroid_interaction}): for each
     * document, the sum over query tokens of the best score among the distinct centroids its tokens
     * hold ({@code documents.centroids}), with its token count; rows without a centroid list are
     * left out.
     */
    public Interaction interaction(float[][] query, List<IndexStore.CentroidRow> rows) {
        float[][] sims = new float[query.length][centroids.length]; // (q, K)
        for (int t = 0; t < query.length; t++) {
            for (int c = 0; c < centroids.length; c++) {
                sims[t][c] = MaxSim.dot(query[t], centroids[c]);
            }
        }
        long[] found = new long[rows.size()];
        int[] nTokens = new int[rows.size()];
        float[] scores = new float[rows.size()];
        int m = 0;
        for (IndexStore.CentroidRow row : rows) {
            byte[] blob = row.centroids;
            if (blob == null || blob.length < 2) {
                continue;
            }
            float total = 0f;
            for (float[] sim : sims) {
                float best = Float.NEGATIVE_INFINITY;
                for (int at = 0; at + 1 < blob.length; at += 2) {
                    int c = (blob[at] & 0xff) | ((blob[at + 1] & 0xff) << 8);
                    if (sim[c] > best) {
                        best = sim[c];
                    }
                }
                total += best;
            }
            found[m] = row.docNo;
            nTokens[m] = row.nTokens;
            scores[m++] = total;
        }
        return new Interaction(Arrays.copyOf(found, m), Arrays.copyOf(nTokens, m), Arrays.copyOf(scores, m));
    }

    /** Each query token's {@code probe} best centroids, best first (ties: lower id): ids and scores. */
    public void probe(float[][] query, int probe, int[][] ids, float[][] scores) {
        for (int t = 0; t < query.length; t++) {
            TopK top = new TopK(probe);
            for (int c = 0; c < centroids.length; c++) {
                top.offer(c, MaxSim.dot(query[t], centroids[c]));
            }
            List<TopK.Entry> best = top.result();
            for (int j = 0; j < probe; j++) {
                ids[t][j] = (int) best.get(j).docNo;
                scores[t][j] = best.get(j).score;
            }
        }
    }

    /** Probe {@code probe} centroids per query token and score the documents their lists hold. */
    public Candidates approximate(float[][] query, int probe) {
        int q = query.length;
        probe = Math.min(probe, centroids.length);
        int[][] ids = new int[q][probe];
        float[][] scores = new float[q][probe];
        probe(query, probe, ids, scores);
        // centroid -> (token, score) pairs that probed it
        Map<Integer, List<int[]>> byCentroid = new TreeMap<>();
        for (int t = 0; t < q; t++) {
            for (int j = 0; j < probe; j++) {
                byCentroid.computeIfAbsent(ids[t][j], c -> new ArrayList<>()).add(new int[] {t, j});
            }
        }
        long width = 0;
        for (int c : byCentroid.keySet()) {
            if (lists[c].length > 0) {
                width = Math.max(width, lists[c][lists[c].length - 1] + 1);
            }
        }
        if (width == 0) {
            return new Candidates(probe, new long[0], new float[0]);
        }
        float[][] best = new float[q][(int) width]; // (q, docs)
        for (int t = 0; t < q; t++) {
            Arrays.fill(best[t], scores[t][probe - 1]);
        }
        boolean[] touched = new boolean[(int) width];
        for (Map.Entry<Integer, List<int[]>> e : byCentroid.entrySet()) {
            long[] docs = lists[e.getKey()];
            for (int[] pair : e.getValue()) {
                float s = scores[pair[0]][pair[1]];
                float[] row = best[pair[0]];
                for (long d : docs) {
                    if (s > row[(int) d]) {
                        row[(int) d] = s;
                    }
                    touched[(int) d] = true;
                }
            }
        }
        int m = 0;
        for (boolean b : touched) {
            m += b ? 1 : 0;
        }
        long[] docNos = new long[m];
        float[] approx = new float[m];
        for (int d = 0, i = 0; d < width; d++) {
            if (touched[d]) {
                float sum = 0f;
                for (int t = 0; t < q; t++) {
                    sum += best[t][d];
                }
                docNos[i] = d;
                approx[i++] = sum;
            }
        }
        return new Candidates(probe, docNos, approx);
    }
}
