package ai.colbertedge.jvm;

import ai.colbertedge.core.index.IndexStore;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link IndexStore} over JDBC (xerial sqlite-jdbc) on the same SQLite file the Python side writes.
 * Read-only ({@code PRAGMA query_only}); doc_no lists are bound as {@code IN (?, ...)} in chunks,
 * so no SQLite extension (json_each) is needed.
 */
public final class JdbcIndexStore implements IndexStore {
    private static final int CHUNK = 500;
    private final Connection conn;

    private JdbcIndexStore(Connection conn) {
        this.conn = conn;
    }

    /** Open the index file at {@code path}. */
    public static JdbcIndexStore open(String path) throws SQLException {
        if (!new java.io.File(path).isFile()) {
            throw new SQLException("no index file at " + path + "; build one with 'colbert-edge index' first");
        }
        Connection conn = DriverManager.getConnection("jdbc:sqlite:" + path);
        try (Statement st = conn.createStatement()) {
            st.execute("PRAGMA query_only=1");
        }
        return new JdbcIndexStore(conn);
    }

    @Override
    public Map<String, String> meta() throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT key, value FROM meta")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        } catch (SQLException exc) {
            throw new SQLException("not a colbert-edge index (" + exc.getMessage() + ")", exc);
        }
        return out;
    }

    @Override
    public List<byte[]> centroidRows() throws SQLException {
        List<byte[]> out = new ArrayList<>();
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT vector FROM centroids ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getBytes(1));
            }
        }
        return out;
    }

    @Override
    public Map<Integer, byte[]> postingRows() throws SQLException {
        Map<Integer, byte[]> out = new TreeMap<>();
        try (Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery("SELECT centroid, doc_nos FROM postings")) {
            while (rs.next()) {
                out.put(rs.getInt(1), rs.getBytes(2));
            }
        }
        return out;
    }

    @Override
    public List<DocumentRow> documents(long[] docNos) throws SQLException {
        List<DocumentRow> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            int n = Math.min(CHUNK, docNos.length - start);
            String sql = "SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE doc_no IN (" + marks(n) + ")";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                for (int i = 0; i < n; i++) {
                    ps.setLong(i + 1, docNos[start + i]);
                }
                readRows(ps, out);
            }
        }
        return out;
    }

    @Override
    public List<DocumentRow> documentsAfter(long afterDocNo, int limit) throws SQLException {
        List<DocumentRow> out = new ArrayList<>();
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT doc_no, n_tokens, encoding, vectors FROM documents WHERE doc_no > ? ORDER BY doc_no LIMIT ?")) {
            ps.setLong(1, afterDocNo);
            ps.setInt(2, limit);
            readRows(ps, out);
        }
        return out;
    }

    @Override
    public List<CentroidRow> documentCentroids(long[] docNos) throws SQLException {
        List<CentroidRow> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            int n = Math.min(CHUNK, docNos.length - start);
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT doc_no, n_tokens, centroids FROM documents WHERE doc_no IN (" + marks(n) + ")")) {
                for (int i = 0; i < n; i++) {
                    ps.setLong(i + 1, docNos[start + i]);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byte[] blob = rs.getBytes(3);
                        if (blob != null) {
                            out.add(new CentroidRow(rs.getLong(1), rs.getInt(2), blob));
                        }
                    }
                }
            }
        }
        return out;
    }

    @Override
    public List<DocumentInfo> describe(long[] docNos) throws SQLException {
        List<DocumentInfo> out = new ArrayList<>();
        for (int start = 0; start < docNos.length; start += CHUNK) {
            int n = Math.min(CHUNK, docNos.length - start);
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT doc_no, id, metadata FROM documents WHERE doc_no IN (" + marks(n) + ")")) {
                for (int i = 0; i < n; i++) {
                    ps.setLong(i + 1, docNos[start + i]);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new DocumentInfo(rs.getLong(1), rs.getString(2), rs.getString(3)));
                    }
                }
            }
        }
        return out;
    }

    @Override
    public long docNoOf(String id) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT doc_no FROM documents WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }

    private static void readRows(PreparedStatement ps, List<DocumentRow> out) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new DocumentRow(rs.getLong(1), rs.getInt(2), rs.getInt(3), rs.getBytes(4)));
            }
        }
    }

    private static String marks(int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(i == 0 ? "?" : ",?");
        }
        return s.toString();
    }

    @Override
    public void close() throws java.io.IOException {
        try {
            conn.close();
        } catch (SQLException exc) {
            throw new java.io.IOException("closing the index connection failed: " + exc.getMessage(), exc);
        }
    }
}
