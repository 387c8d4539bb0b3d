package ai.colbertedge.core.index;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An open colbert-edge index (read-only), searched the way edge_index/searcher.py searches:
 *
 * <ol>
 *   <li>each query token is scored against every centroid; its {@code nprobe} best are probed;</li>
 *   <li>the probed centroids' posting lists give the candidates, each with the centroid-level
 *       approximate score of {@link CentroidPrefilter};</li>
 *   <li>while fewer than k documents are candidates, nprobe grows 4x (up to every centroid);</li>
 *   <li>if there are more than {@code candidates}: the {@code 4 * candidates} best by the
 *       approximation go on to the centroid interaction
 *       ({@link CentroidPrefilter#interaction}, which also reads each one's token count); in
 *       order of interaction score (ties: lower doc_no first) the first {@code candidates} go on,
 *       and then the following ones while all kept documents hold at most {@code exactTokens}
 *       tokens in all ({@link CentroidPrefilter.Interaction#keep}; null = exactly
 *       {@code candidates}), so an index of short passages scores more of them for the same work;</li>
 *   <li>those are decoded and scored with exact {@link MaxSim}; the top k are returned (ties:
 *       lower doc_no first; where Python's numpy picks among tied documents arbitrarily at the
 *       approximation cut, this picks the lower doc_no).</li>
 * </ol>
 * An index without centroids is scored exhaustively; {@code nprobe = null} and
 * {@code candidates = null} give the exhaustive MaxSim top k. {@link #search(float[][], int)} uses
 * Python's defaults ({@code Index.search}: nprobe 4, candidates 256, exactTokens 65536). State is
 * loaded once by {@link #open}; reopen to see later writes. Not thread-safe for concurrent searches
 * on one store unless the store is.
 */
public final class EdgeIndex implements Closeable {
    public static final String FORMAT = "colbert-edge-index";
    public static final int SCHEMA_VERSION = 1;
    public static final Integer DEFAULT_NPROBE = 4;
    public static final Integer DEFAULT_CANDIDATES = 256;
    /** The exact stage's cost follows tokens, not documents: short passages may fill up to this many. */
    public static final Integer DEFAULT_EXACT_TOKENS = 65536;
    /** The approximation keeps WIDEN * candidates documents for the centroid interaction. */
    public static final int WIDEN = 4;
    private static final int ROWS_PER_READ = 512;

    private final IndexStore store;
    public final int dim;
    public final String fingerprint;
    public final String codec;
    private final float[][] centroids; // [K][dim], null when untrained
    private final float[] weights; // 16 residual bucket weights, or null
    private final CentroidPrefilter prefilter; // null when untrained

    private EdgeIndex(IndexStore store, int dim, String fingerprint, String codec, float[][] centroids,
                      float[] weights, CentroidPrefilter prefilter) {
        this.store = store;
        this.dim = dim;
        this.fingerprint = fingerprint;
        this.codec = codec;
        this.centroids = centroids;
        this.weights = weights;
        this.prefilter = prefilter;
    }

    /** Read meta, centroids and postings from {@code store}; FormatError for a foreign or newer file. */
    public static EdgeIndex open(IndexStore store) throws Exception {
        Map<String, String> raw = store.meta();
        Map<String, Object> meta = new HashMap<>();
        for (Map.Entry<String, String> e : raw.entrySet()) {
            meta.put(e.getKey(), Json.parse(e.getValue()));
        }
        if (!FORMAT.equals(meta.get("format"))) {
            throw new FormatError("not a colbert-edge index (meta format " + meta.get("format") + ")");
        }
        long version = Json.integer(meta.get("schema_version"), "index schema_version");
        if (version > SCHEMA_VERSION) {
            throw new FormatError("index schema version " + version + " is newer than this reader's "
                    + SCHEMA_VERSION + "; update the app");
        }
        int dim = (int) Json.integer(meta.get("dim"), "index dim");
        int k = (int) Json.integer(meta.get("n_centroids"), "index n_centroids");
        String fingerprint = Json.string(meta.get("fingerprint"), "index fingerprint");
        String codec = Json.string(meta.get("codec"), "index codec");
        if (k == 0) {
            return new EdgeIndex(store, dim, fingerprint, codec, null, null, null);
        }
        List<byte[]> rows = store.centroidRows();
        if (rows.size() != k) {
            throw new FormatError("index has " + rows.size() + " centroid rows, its metadata says " + k + "; rebuild it");
        }
        float[][] centroids = new float[k][];
        for (int c = 0; c < k; c++) {
            if (rows.get(c).length != 4 * dim) {
                throw new FormatError("centroid " + c + " has " + rows.get(c).length + " bytes, expected " + 4 * dim);
            }
            centroids[c] = Codecs.float32s(rows.get(c));
        }
        float[] weights = null;
        Object residual = meta.get("residual");
        if (residual != null) {
            List<Object> w = Json.array(Json.object(residual, "index residual").get("weights"), "residual weights");
            if (w.size() != 16) {
                throw new FormatError("index residual weights has " + w.size() + " values, expected 16");
            }
            weights = new float[16];
            for (int i = 0; i < 16; i++) {
                weights[i] = (float) Json.number(w.get(i), "residual weight");
            }
        }
        long[][] lists = new long[k][];
        Arrays.fill(lists, new long[0]);
        for (Map.Entry<Integer, byte[]> e : store.postingRows().entrySet()) {
            lists[e.getKey()] = Codecs.int64s(e.getValue());
        }
        return new EdgeIndex(store, dim, fingerprint, codec, centroids, weights, new CentroidPrefilter(centroids, lists));
    }

    /** The store this index reads (ids and metadata of doc_nos come from it). */
    public IndexStore store() {
        return store;
    }

    public int nCentroids() {
        return centroids == null ? 0 : centroids.length;
    }

    /** Decode one stored document's rows ({@code [n][dim]}). */
    public float[][] decode(IndexStore.DocumentRow row) {
        return Codecs.decode(row.vectors, row.nTokens, row.encoding, dim, centroids, weights);
    }

    /** The stored (decoded) vectors of a document id; null if there is no such document. */
    public float[][] vectors(String id) throws Exception {
        long docNo = store.docNoOf(id);
        if (docNo < 0) {
            return null;
        }
        List<IndexStore.DocumentRow> rows = store.documents(new long[] {docNo});
        return rows.isEmpty() ? null : decode(rows.get(0));
    }

    /**
     * The candidates the probe proposes for {@code query} before the cut to {@code candidates}
     * (nprobe null = every centroid; grows 4x while fewer than k candidates), or null when the
     * index has no centroids.
     */
    public CentroidPrefilter.Candidates candidates(float[][] query, Integer nprobe, int k) {
        if (prefilter == null) {
            return null;
        }
        int n = centroids.length;
        int probe = nprobe == null ? n : Math.min(nprobe, n);
        while (true) {
            CentroidPrefilter.Candidates found = prefilter.approximate(query, probe);
            if (found.docNos.length >= k || probe >= n) {
                return found;
            }
            probe = Math.min(probe * 4, n);
        }
    }

    /** The centroid interaction and token counts of these documents (see {@link CentroidPrefilter#interaction}). */
    public CentroidPrefilter.Interaction interaction(float[][] query, long[] docNos) throws Exception {
        if (prefilter == null) {
            throw new IllegalStateException("the index has no centroids yet; search is exhaustive");
        }
        return prefilter.interaction(query, store.documentCentroids(docNos));
    }

    /** {@link #search(float[][], int, Integer, Integer, Integer)} with Python's defaults (see the class comment). */
    public List<Hit> search(float[][] query, int k) throws Exception {
        return search(query, k, DEFAULT_NPROBE, DEFAULT_CANDIDATES, DEFAULT_EXACT_TOKENS);
    }

    /** The k best documents for {@code query} ({@code [q][dim]}), best first (see the class comment). */
    public List<Hit> search(float[][] query, int k, Integer nprobe, Integer candidates, Integer exactTokens)
            throws Exception {
        checkQuery(query);
        if (k <= 0 || (nprobe != null && nprobe <= 0) || (candidates != null && candidates < k)
                || (exactTokens != null && exactTokens <= 0)) {
            throw new IllegalArgumentException("need k > 0, nprobe > 0 or null, candidates >= k or null, "
                    + "exactTokens > 0 or null; got k=" + k + ", nprobe=" + nprobe + ", candidates=" + candidates
                    + ", exactTokens=" + exactTokens);
        }
        TopK top = new TopK(k);
        CentroidPrefilter.Candidates found = candidates(query, nprobe, k);
        if (found == null) {
            long last = -1;
            while (true) {
                List<IndexStore.DocumentRow> rows = store.documentsAfter(last, ROWS_PER_READ);
                if (rows.isEmpty()) {
                    break;
                }
                for (IndexStore.DocumentRow row : rows) {
                    top.offer(row.docNo, MaxSim.score(query, decode(row)));
                    last = Math.max(last, row.docNo);
                }
            }
        } else {
            long[] docNos = found.docNos;
            if (candidates != null && docNos.length > candidates) {
                long[] pool = found.best(WIDEN * candidates);
                docNos = interaction(query, pool).keep(candidates, exactTokens);
            }
            for (int start = 0; start < docNos.length; start += ROWS_PER_READ) {
                long[] chunk = Arrays.copyOfRange(docNos, start, Math.min(docNos.length, start + ROWS_PER_READ));
                for (IndexStore.DocumentRow row : store.documents(chunk)) {
                    top.offer(row.docNo, MaxSim.score(query, decode(row)));
                }
            }
        }
        return hits(top.result());
    }

    private void checkQuery(float[][] query) {
        if (query == null || query.length == 0) {
            throw new IllegalArgumentException("a query needs at least one token vector");
        }
        for (float[] row : query) {
            if (row.length != dim) {
                throw new IllegalArgumentException("query vectors are " + row.length + "-dimensional, the index holds "
                        + dim + "-dimensional ones: use the bundle the index was built with");
            }
        }
    }

    private List<Hit> hits(List<TopK.Entry> entries) throws Exception {
        long[] docNos = new long[entries.size()];
        for (int i = 0; i < docNos.length; i++) {
            docNos[i] = entries.get(i).docNo;
        }
        Map<Long, IndexStore.DocumentInfo> info = new HashMap<>();
        for (IndexStore.DocumentInfo d : store.describe(docNos)) {
            info.put(d.docNo, d);
        }
        List<Hit> out = new ArrayList<>();
        for (TopK.Entry e : entries) {
            IndexStore.DocumentInfo d = info.get(e.docNo);
            if (d != null) {
                out.add(new Hit(d.id, e.score, d.metadataJson));
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        store.close();
    }
}
