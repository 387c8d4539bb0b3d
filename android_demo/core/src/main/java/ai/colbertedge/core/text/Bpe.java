package ai.colbertedge.core.text;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * tokenizers' BPE model: a piece's characters are merged by ascending merge rank, leftmost pair
 * first among equal ranks, until no ranked pair remains (the order tokenizers' priority queue
 * gives). Supports unk_token, byte_fallback ({@code <0xAB>} tokens) and ignore_merges; refuses
 * continuing_subword_prefix / end_of_word_suffix, which byte-level models do not use.
 */
public final class Bpe implements Model {
    private final Map<String, Integer> vocab;
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Integer unkId;
    private final boolean byteFallback;
    private final boolean ignoreMerges;

    public Bpe(Map<String, Object> spec) {
        vocab = Vocab.read(spec.get("vocab"));
        if (spec.get("continuing_subword_prefix") != null || spec.get("end_of_word_suffix") != null) {
            throw new FormatError("tokenizer.json BPE with continuing_subword_prefix or end_of_word_suffix is not "
                    + "supported by the Java tokenizer");
        }
        if (spec.get("dropout") != null) {
            throw new FormatError("tokenizer.json BPE with dropout is not supported (it is random); export without it");
        }
        List<Object> merges = Json.array(spec.get("merges"), "tokenizer.json BPE merges");
        for (int rank = 0; rank < merges.size(); rank++) {
            Object merge = merges.get(rank);
            String left;
            String right;
            if (merge instanceof String) {
                String text = (String) merge;
                int space = text.indexOf(' ', 1);
                if (space < 0) {
                    throw new FormatError("tokenizer.json BPE merge '" + text + "' has no space");
                }
                left = text.substring(0, space);
                right = text.substring(space + 1);
            } else {
                List<Object> pair = Json.array(merge, "tokenizer.json BPE merge");
                left = Json.string(pair.get(0), "BPE merge");
                right = Json.string(pair.get(1), "BPE merge");
            }
            ranks.putIfAbsent(left + '\u0000' + right, rank);
        }
        Object unk = spec.get("unk_token");
        unkId = unk == null ? null : vocab.get(Json.string(unk, "BPE unk_token"));
        byteFallback = Boolean.TRUE.equals(spec.get("byte_fallback"));
        ignoreMerges = Boolean.TRUE.equals(spec.get("ignore_merges"));
    }

    @Override
    public void tokenize(String piece, List<Integer> out) {
        if (piece.isEmpty()) {
            return;
        }
        if (ignoreMerges && vocab.containsKey(piece)) {
            out.add(vocab.get(piece));
            return;
        }
        List<String> symbols = new ArrayList<>();
        for (int i = 0; i < piece.length(); ) {
            int c = piece.codePointAt(i);
            i += Character.charCount(c);
            symbols.add(new String(Character.toChars(c)));
        }
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            int bestAt = -1;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + '\u0000' + symbols.get(i + 1));
                if (rank != null && rank < bestRank && vocab.containsKey(symbols.get(i) + symbols.get(i + 1))) {
                    bestRank = rank;
                    bestAt = i;
                }
            }
            if (bestAt < 0) {
                break;
            }
            symbols.set(bestAt, symbols.get(bestAt) + symbols.remove(bestAt + 1));
        }
        for (String symbol : symbols) {
            Integer id = vocab.get(symbol);
            if (id != null) {
                out.add(id);
            } else if (byteFallback) {
                for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
                    Integer byteId = vocab.get(String.format("<0x%02X>", b & 0xff));
                    if (byteId != null) {
                        out.add(byteId);
                    } else if (unkId != null) {
                        out.add(unkId);
                    }
                }
            } else if (unkId != null) {
                out.add(unkId);
            }
        }
    }
}
