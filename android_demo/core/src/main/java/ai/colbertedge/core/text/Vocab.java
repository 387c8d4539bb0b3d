package ai.colbertedge.core.text;

import ai.colbertedge.core.Json;

import java.util.HashMap;
import java.util.Map;

/** A tokenizer.json {@code model.vocab} object: token -> id. */
final class Vocab {
    private Vocab() {
    }

    static Map<String, Integer> read(Object spec) {
        Map<String, Object> raw = Json.object(spec, "tokenizer.json model vocab");
        Map<String, Integer> vocab = new HashMap<>(raw.size() * 2);
        for (Map.Entry<String, Object> entry : raw.entrySet()) {
            vocab.put(entry.getKey(), (int) Json.integer(entry.getValue(), "vocab entry " + entry.getKey()));
        }
        return vocab;
    }
}
