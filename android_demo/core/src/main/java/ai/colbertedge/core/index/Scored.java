package ai.colbertedge.core.index;

import java.util.Arrays;

/** Documents with a score each (doc_nos and scores in the same order). */
public class Scored {
    public final long[] docNos;
    public final float[] scores;

    public Scored(long[] docNos, float[] scores) {
        if (docNos.length != scores.length) {
            throw new IllegalArgumentException(docNos.length + " doc_nos but " + scores.length + " scores");
        }
        this.docNos = docNos;
        this.scores = scores;
    }

    /** The {@code n} best by score (ties: lower doc_no), ascending doc_no; all of them if n >= size. */
    public long[] best(int n) {
        if (docNos.length <= n) {
            long[] all = docNos.clone();
            Arrays.sort(all);
            return all;
        }
        TopK top = new TopK(n);
        for (int i = 0; i < docNos.length; i++) {
            top.offer(docNos[i], scores[i]);
        }
        long[] out = new long[n];
        int i = 0;
        for (TopK.Entry e : top.result()) {
            out[i++] = e.docNo;
        }
        Arrays.sort(out);
        return out;
    }
}
