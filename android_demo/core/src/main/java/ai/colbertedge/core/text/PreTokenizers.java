package ai.colbertedge.core.text;

import ai.colbertedge.core.FormatError;
import ai.colbertedge.core.Json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pre_tokenizer} of a tokenizer.json: normalised text -> pieces the model tokenizes.
 * Supported: ByteLevel (GPT-2 regex optional, prefix space optional; pieces come out byte-mapped),
 * BertPreTokenizer, Whitespace, WhitespaceSplit, Split (Isolated / Removed), Digits, Sequence.
 */
public final class PreTokenizers {
    private PreTokenizers() {
    }

    /** One step: pieces in, pieces out. */
    public interface Step {
        List<String> apply(List<String> pieces);
    }

    /** GPT-2's split regex, as tokenizers' ByteLevel uses it. */
    static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final char[] BYTE_CHARS = byteChars();

    /** Build the step described by {@code spec} (a JSON object, or null for "one piece"). */
    public static Step fromJson(Object spec) {
        if (spec == null) {
            return pieces -> pieces;
        }
        Map<String, Object> p = Json.object(spec, "tokenizer.json pre_tokenizer");
        String type = String.valueOf(p.get("type"));
        switch (type) {
            case "ByteLevel": {
                boolean prefixSpace = Boolean.TRUE.equals(p.get("add_prefix_space"));
                boolean useRegex = !Boolean.FALSE.equals(p.get("use_regex"));
                return pieces -> {
                    List<String> out = new ArrayList<>();
                    for (String piece : pieces) {
                        String text = prefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
                        for (String part : useRegex ? isolate(GPT2, text) : single(text)) {
                            out.add(byteMap(part));
                        }
                    }
                    return out;
                };
            }
            case "BertPreTokenizer":
                return pieces -> {
                    List<String> out = new ArrayList<>();
                    for (String piece : pieces) {
                        bertSplit(piece, out);
                    }
                    return out;
                };
            case "Whitespace":
                return pieces -> {
                    List<String> out = new ArrayList<>();
                    for (String piece : pieces) {
                        Matcher m = WHITESPACE.matcher(piece);
                        while (m.find()) {
                            out.add(m.group());
                        }
                    }
                    return out;
                };
            case "WhitespaceSplit":
                return pieces -> {
                    List<String> out = new ArrayList<>();
                    for (String piece : pieces) {
                        splitOnWhiteSpace(piece, out);
                    }
                    return out;
                };
            case "Split":
                return split(p);
            case "Digits": {
                boolean individual = Boolean.TRUE.equals(p.get("individual_digits"));
                Pattern digits = Pattern.compile(individual ? "\\p{N}" : "\\p{N}+");
                return pieces -> {
                    List<String> out = new ArrayList<>();
                    for (String piece : pieces) {
                        out.addAll(isolate(digits, piece));
                    }
                    return out;
                };
            }
            case "Sequence": {
                List<Step> steps = new ArrayList<>();
                for (Object item : Json.array(p.get("pretokenizers"), "Sequence pretokenizers")) {
                    steps.add(fromJson(item));
                }
                return pieces -> {
                    for (Step step : steps) {
                        pieces = step.apply(pieces);
                    }
                    return pieces;
                };
            }
            default:
                throw new FormatError("tokenizer.json pre_tokenizer type '" + type + "' is not supported by the Java "
                        + "tokenizer (supported: ByteLevel, BertPreTokenizer, Whitespace, WhitespaceSplit, Split, Digits, Sequence)");
        }
    }

    private static Step split(Map<String, Object> p) {
        Map<String, Object> pattern = Json.object(p.get("pattern"), "Split pre_tokenizer pattern");
        Pattern regex;
        if (pattern.containsKey("Regex")) {
            regex = Pattern.compile(Json.string(pattern.get("Regex"), "Split Regex"), Pattern.UNICODE_CHARACTER_CLASS);
        } else {
            regex = Pattern.compile(Pattern.quote(Json.string(pattern.get("String"), "Split String")));
        }
        String behavior = String.valueOf(p.get("behavior"));
        boolean invert = Boolean.TRUE.equals(p.get("invert"));
        if (invert || !(behavior.equals("Isolated") || behavior.equals("Removed"))) {
            throw new FormatError("tokenizer.json Split pre_tokenizer with behavior " + behavior
                    + (invert ? " and invert" : "") + " is not supported (supported: Isolated, Removed; no invert)");
        }
        boolean keepMatches = behavior.equals("Isolated");
        return pieces -> {
            List<String> out = new ArrayList<>();
            for (String piece : pieces) {
                Matcher m = regex.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.start() > last) {
                        out.add(piece.substring(last, m.start()));
                    }
                    if (keepMatches && m.end() > m.start()) {
                        out.add(m.group());
                    }
                    last = m.end();
                }
                if (last < piece.length()) {
                    out.add(piece.substring(last));
                }
            }
            return out;
        };
    }

    /** Matches and the text between them, in order (tokenizers' Isolated split). */
    static List<String> isolate(Pattern pattern, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                out.add(text.substring(last, m.start()));
            }
            if (m.end() > m.start()) {
                out.add(m.group());
            }
            last = m.end();
        }
        if (last < text.length()) {
            out.add(text.substring(last));
        }
        return out;
    }

    private static List<String> single(String text) {
        List<String> out = new ArrayList<>();
        if (!text.isEmpty()) {
            out.add(text);
        }
        return out;
    }

    private static void splitOnWhiteSpace(String text, List<String> out) {
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (Chars.isWhiteSpace(c)) {
                if (word.length() > 0) {
                    out.add(word.toString());
                    word.setLength(0);
                }
            } else {
                word.appendCodePoint(c);
            }
        }
        if (word.length() > 0) {
            out.add(word.toString());
        }
    }

    private static void bertSplit(String text, List<String> out) {
        List<String> words = new ArrayList<>();
        splitOnWhiteSpace(text, words);
        for (String word : words) {
            StringBuilder run = new StringBuilder();
            for (int i = 0; i < word.length(); ) {
                int c = word.codePointAt(i);
                i += Character.charCount(c);
                if (Chars.isPunctuation(c)) {
                    if (run.length() > 0) {
                        out.add(run.toString());
                        run.setLength(0);
                    }
                    out.add(new String(Character.toChars(c)));
                } else {
                    run.appendCodePoint(c);
                }
            }
            if (run.length() > 0) {
                out.add(run.toString());
            }
        }
    }

    /** UTF-8 bytes of {@code text}, each mapped to GPT-2's printable stand-in character. */
    public static String byteMap(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_CHARS[bytes[i] & 0xff];
        }
        return new String(out);
    }

    /** GPT-2's bytes_to_unicode table: byte -> character. */
    private static char[] byteChars() {
        char[] table = new char[256];
        boolean[] direct = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            direct[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            direct[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            direct[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            if (direct[b]) {
                table[b] = (char) b;
            } else {
                table[b] = (char) (256 + next++);
            }
        }
        return table;
    }
}
