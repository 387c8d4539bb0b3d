package ai.colbertedge.core.index;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The best k (doc_no, score) pairs, best first; ties go to the lower doc_no (edge_index/searcher.py
 * {@code _top}). A bounded heap: O(n log k).
 */
public final class TopK {
    /** One scored document. */
    public static final class Entry {
        public final long docNo;
        public final float score;

        Entry(long docNo, float score) {
            this.docNo = docNo;
            this.score = score;
        }
    }

    private final int k;
    // Worst entry on top: lower score, then higher doc_no, is worse.
    private final PriorityQueue<Entry> heap;

    public TopK(int k) {
        if (k <= 0) {
            throw new IllegalArgumentException("k must be positive, got " + k);
        }
        this.k = k;
        this.heap = new PriorityQueue<>(k + 1, (a, b) -> better(a, b) ? 1 : (better(b, a) ? -1 : 0));
    }

    static boolean better(Entry a, Entry b) {
        return a.score > b.score || (a.score == b.score && a.docNo < b.docNo);
    }

    public void offer(long docNo, float score) {
        Entry entry = new Entry(docNo, score);
        if (heap.size() < k) {
            heap.add(entry);
        } else if (better(entry, heap.peek())) {
            heap.poll();
            heap.add(entry);
        }
    }

    /** The kept entries, best first. */
    public List<Entry> result() {
        List<Entry> out = new ArrayList<>(heap);
        Collections.sort(out, (a, b) -> better(a, b) ? -1 : (better(b, a) ? 1 : 0));
        return out;
    }
}
