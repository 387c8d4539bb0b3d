package ai.colbertedge.demo;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;
import ai.colbertedge.core.QueryEncoder;
import ai.colbertedge.core.index.EdgeIndex;
import ai.colbertedge.core.index.Hit;
import ai.colbertedge.ort.OrtQueryEncoder;

import android.app.Activity;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.view.inputmethod.EditorInfo;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.EditText;
import android.widget.ListView;
import android.widget.TextView;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A search box over one colbert-edge index: the query is encoded on the phone (ONNX Runtime),
 * ranked with the centroid prefilter and exact MaxSim (the shared Java core), and the best
 * passages are listed with their title and score.
 *
 * <p>Expects, in the app's external files folder (see README.md for the adb commands):
 * {@code bundle/} (manifest.json, tokenizer.json, model.onnx, model.onnx.data) and {@code index.db}.
 */
public final class MainActivity extends Activity {
    private static final int K = 10;
    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler main = new Handler(Looper.getMainLooper());
    private QueryEncoder encoder;
    private EdgeIndex index;
    private EditText query;
    private Button search;
    private TextView status;
    private ArrayAdapter<String> results;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        query = findViewById(R.id.query);
        search = findViewById(R.id.search);
        status = findViewById(R.id.status);
        results = new ArrayAdapter<>(this, android.R.layout.simple_list_item_1, new ArrayList<>());
        ((ListView) findViewById(R.id.results)).setAdapter(results);
        search.setOnClickListener(v -> runSearch());
        query.setOnEditorActionListener((v, action, event) -> {
            if (action == EditorInfo.IME_ACTION_SEARCH) {
                runSearch();
                return true;
            }
            return false;
        });
        File folder = getExternalFilesDir(null);
        worker.execute(() -> load(folder));
    }

    private void load(File folder) {
        File bundle = new File(folder, "bundle");
        File db = new File(folder, "index.db");
        try {
            if (!db.isFile()) {
                throw new FormatError("no index at " + db + "; copy one with adb (see README.md)");
            }
            QueryEncoder loaded = OrtQueryEncoder.load(bundle, Runtime.getRuntime().availableProcessors());
            EdgeIndex opened = EdgeIndex.open(AndroidSqliteIndexStore.open(db.getPath()));
            if (!opened.fingerprint.equals(loaded.fingerprint())) {
                opened.close();
                loaded.close();
                throw new FormatError("the index was built with bundle fingerprint " + opened.fingerprint
                        + ", the copied bundle is " + loaded.fingerprint() + ": copy the bundle the index was built with");
            }
            main.post(() -> {
                encoder = loaded;
                index = opened;
                status.setText(String.format(Locale.ROOT, "Ready: %d centroids, codec %s, dim %d",
                        opened.nCentroids(), opened.codec, opened.dim));
                query.setEnabled(true);
                search.setEnabled(true);
            });
        } catch (Exception exc) {
            main.post(() -> status.setText("Cannot open: " + exc.getMessage()));
        }
    }

    private void runSearch() {
        String text = query.getText().toString();
        QueryEncoder enc = encoder;
        EdgeIndex idx = index;
        if (enc == null || idx == null) {
            return;
        }
        search.setEnabled(false);
        status.setText("Searching…");
        worker.execute(() -> {
            try {
                long start = System.nanoTime();
                float[][] vectors = enc.encodeQuery(text);
                long encoded = System.nanoTime();
                List<Hit> hits = idx.search(vectors, K);
                long done = System.nanoTime();
                List<String> lines = new ArrayList<>();
                for (Hit hit : hits) {
                    lines.add(describe(hit));
                }
                String timing = String.format(Locale.ROOT, "%d results · encode %.0f ms · search %.0f ms",
                        hits.size(), (encoded - start) / 1e6, (done - encoded) / 1e6);
                main.post(() -> {
                    results.clear();
                    results.addAll(lines);
                    status.setText(timing);
                    search.setEnabled(true);
                });
            } catch (Exception exc) {
                main.post(() -> {
                    status.setText("Search failed: " + exc.getMessage());
                    search.setEnabled(true);
                });
            }
        });
    }

    /** "score  title" and the start of the passage text, from the Engine's passage metadata. */
    private static String describe(Hit hit) {
        String title = hit.id;
        String text = "";
        try {
            Map<String, Object> meta = Json.object(Json.parse(hit.metadataJson), "metadata");
            if (meta.get("title") instanceof String) {
                title = (String) meta.get("title");
            }
            if (meta.get("text") instanceof String) {
                text = ((String) meta.get("text")).replace('\n', ' ');
            }
        } catch (FormatError exc) {
            text = "(unreadable metadata: " + exc.getMessage() + ")";
        }
        if (text.length() > 160) {
            text = text.substring(0, 160) + "…";
        }
        return String.format(Locale.ROOT, "%.2f  %s%n%s", hit.score, title, text);
    }

    @Override
    protected void onDestroy() {
        worker.shutdown();
        try {
            if (index != null) {
                index.close();
            }
            if (encoder != null) {
                encoder.close();
            }
        } catch (java.io.IOException exc) {
            status.setText("Close failed: " + exc.getMessage());
        }
        super.onDestroy();
    }
}
