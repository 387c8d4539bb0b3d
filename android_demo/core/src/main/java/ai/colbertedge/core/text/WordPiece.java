package ai.colbertedge.core.text;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * tokenizers' WordPiece model: greedy longest-match-first; pieces after the first carry the
 * continuing_subword_prefix ("##"); a word with an unmatchable rest, or longer than
 * max_input_chars_per_word characters, becomes the single unk token.
 */
public final class WordPiece implements Model {
    private final Map<String, Integer> vocab;
    private final int unkId;
    private final String prefix;
    private final int maxChars;

    public WordPiece(Map<String, Object> spec) {
        vocab = Vocab.read(spec.get("vocab"));
        String unk = Json.string(spec.get("unk_token"), "tokenizer.json WordPiece unk_token");
        Integer id = vocab.get(unk);
        if (id == null) {
            throw new FormatError("tokenizer.json WordPiece unk_token '" + unk + "' is not in the vocab");
        }
        unkId = id;
        prefix = spec.get("continuing_subword_prefix") == null ? "##"
                : Json.string(spec.get("continuing_subword_prefix"), "WordPiece continuing_subword_prefix");
        maxChars = spec.get("max_input_chars_per_word") == null ? 100
                : (int) Json.integer(spec.get("max_input_chars_per_word"), "WordPiece max_input_chars_per_word");
    }

    @Override
    public void tokenize(String word, List<Integer> out) {
        if (word.codePointCount(0, word.length()) > maxChars) {
            out.add(unkId);
            return;
        }
        List<Integer> pieces = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            Integer found = null;
            while (start < end) {
                String candidate = word.substring(start, end);
                if (start > 0) {
                    candidate = prefix + candidate;
                }
                found = vocab.get(candidate);
                if (found != null) {
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) {
                out.add(unkId);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }
}
