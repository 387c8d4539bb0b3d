package ai.colbertedge.core.index;

import java.io.Closeable;
import java.util.List;
import java.util.Map;

/**
 * Read access to the tables of one colbert-edge index file (edge_index/schema.py). The JVM plugs
 * in JDBC, the app {@code android.database.sqlite}; the core never sees SQL.
 */
public interface IndexStore extends Closeable {
    /** One row of {@code documents}, without metadata. */
    final class DocumentRow {
        public final long docNo;
        public final int nTokens;
        public final int encoding;
        public final byte[] vectors;

        public DocumentRow(long docNo, int nTokens, int encoding, byte[] vectors) {
            this.docNo = docNo;
            this.nTokens = nTokens;
            this.encoding = encoding;
            this.vectors = vectors;
        }
    }

    /** A document's caller id and metadata (JSON object text). */
    final class DocumentInfo {
        public final long docNo;
        public final String id;
        public final String metadataJson;

        public DocumentInfo(long docNo, String id, String metadataJson) {
            this.docNo = docNo;
            this.id = id;
            this.metadataJson = metadataJson;
        }
    }

    /** A document's token count and {@code documents.centroids} BLOB (sorted distinct uint16 LE ids). */
    final class CentroidRow {
        public final long docNo;
        public final int nTokens;
        public final byte[] centroids;

        public CentroidRow(long docNo, int nTokens, byte[] centroids) {
            this.docNo = docNo;
            this.nTokens = nTokens;
            this.centroids = centroids;
        }
    }

    /** Every {@code meta} row: key -> value as stored (JSON text). */
    Map<String, String> meta() throws Exception;

    /** {@code centroids.vector} BLOBs ordered by id (each dim float32 LE). */
    List<byte[]> centroidRows() throws Exception;

    /** {@code postings}: centroid id -> doc_nos BLOB (ascending int64 LE). */
    Map<Integer, byte[]> postingRows() throws Exception;

    /** Documents with these doc_nos (any order in, any order out; missing ones are left out). */
    List<DocumentRow> documents(long[] docNos) throws Exception;

    /** Every document, ascending doc_no, in pages of {@code limit} after {@code afterDocNo}. */
    List<DocumentRow> documentsAfter(long afterDocNo, int limit) throws Exception;

    /**
     * {@code doc_no, n_tokens, centroids} of these doc_nos, read together as edge_index/searcher.py
     * {@code centroid_interaction} reads them (any order; missing ones and rows without a centroid
     * list are left out).
     */
    List<CentroidRow> documentCentroids(long[] docNos) throws Exception;

    /** Ids and metadata of these doc_nos. */
    List<DocumentInfo> describe(long[] docNos) throws Exception;

    /** The doc_no of a caller id, or -1. */
    long docNoOf(String id) throws Exception;
}
