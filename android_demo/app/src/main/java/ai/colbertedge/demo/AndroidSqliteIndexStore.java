package ai.colbertedge.demo;

import ai.colbertedge.core.index.IndexStore;

import android.database.Cursor;
import android.database.sqlite.SQLiteDatabase;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link IndexStore} over {@code android.database.sqlite}, opening the index file read-only.
 * The twin of the JVM's JdbcIndexStore (which CI tests against the Python side's golden files):
 * same queries, doc_no lists inlined as integer literals (they are longs, so nothing to escape).
 */
public final class AndroidSqliteIndexStore implements IndexStore {
    private static final int CHUNK = 500;
    private final SQLiteDatabase db;

    private AndroidSqliteIndexStore(SQLiteDatabase db) {
        this.db = db;
    }

    /** Open {@code path} read-only (a copied index whose WAL was checkpointed; see README.md). */
    public static AndroidSqliteIndexStore open(String path) {
        return new AndroidSqliteIndexStore(SQLiteDatabase.openDatabase(path, null, SQLiteDatabase.OPEN_READONLY));
    }

    @Override
    public Map<String, String> meta() {
        Map<String, String> out = new LinkedHashMap<>();
        try (Cursor c = db.rawQuery("SELECT key, value FROM meta", null)) {
            while (c.moveToNext()) {
                out.put(c.getString(0), c.getString(1));
            }
        }
        return out;
    }

    @Override
    public List<byte[]> centroidRows() {
        List<byte[]> out = new ArrayList<>();
        try (Cursor c = db.rawQuery("SELECT vector FROM centroids ORDER BY id", null)) {
            while (c.moveToNext()) {
                out.add(c.getBlob(0));
            }
        }
        return out;
    }

    @Override
    public Map<Integer, byte[]> postingRows() {
        Map<Integer, byte[]> out = new TreeMap<>();
        try (Cursor c = db.rawQuery("SELECT centroid, doc_nos FROM postings", null)) {
            while (c.moveToNext()) {
                out.put(c.getInt(0), c.getBlob(1));
            }
        }
        return out;
    }

    @Override
    public List<DocumentRow> documents(long[] docNos) {
        List<DocumentRow> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            String sql = "SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE doc_no IN ("
                    + literals(docNos, start, Math.min(docNos.length, start + CHUNK)) + ")";
            readRows(sql, null, out);
        }
        return out;
    }

    @Override
    public List<DocumentRow> documentsAfter(long afterDocNo, int limit) {
        List<DocumentRow> out = new ArrayList<>();
        readRows("SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE doc_no > ? ORDER BY doc_no LIMIT "
                + limit, new String[] {Long.toString(afterDocNo)}, out);
        return out;
    }

    @Override
    public List<CentroidRow> documentCentroids(long[] docNos) {
        List<CentroidRow> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            String sql = "SELECT doc_no, n_tokens, centroids FROM documents WHERE doc_no IN ("
                    + literals(docNos, start, Math.min(docNos.length, start + CHUNK)) + ")";
            try (Cursor c = db.rawQuery(sql, null)) {
                while (c.moveToNext()) {
                    if (!c.isNull(2)) {
                        out.add(new CentroidRow(c.getLong(0), c.getInt(1), c.getBlob(2)));
                    }
                }
            }
        }
        return out;
    }

    @Override
    public List<DocumentInfo> describe(long[] docNos) {
        List<DocumentInfo> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            String sql = "SELECT doc_no, id, metadata FROM documents WHERE doc_no IN ("
                    + literals(docNos, start, Math.min(docNos.length, start + CHUNK)) + ")";
            try (Cursor c = db.rawQuery(sql, null)) {
                while (c.moveToNext()) {
                    out.add(new DocumentInfo(c.getLong(0), c.getString(1), c.getString(2)));
                }
            }
        }
        return out;
    }

    @Override
    public long docNoOf(String id) {
        try (Cursor c = db.rawQuery("SELECT doc_no FROM documents WHERE id = ?", new String[] {id})) {
            return c.moveToNext() ? c.getLong(0) : -1;
        }
    }

    private void readRows(String sql, String[] args, List<DocumentRow> out) {
        try (Cursor c = db.rawQuery(sql, args)) {
            while (c.moveToNext()) {
                out.add(new DocumentRow(c.getLong(0), c.getInt(1), c.getInt(2), c.getBlob(3)));
            }
        }
    }

    private static String literals(long[] values, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) {
            s.append(i == from ? "" : ",").append(values[i]);
        }
        return s.toString();
    }

    @Override
    public void close() {
        db.close();
    }
}
