package ai.colbertedge.core.text;

import java.util.List;

/** A tokenizer.json {@code model}: one pre-tokenized piece -> token ids appended to {@code out}. */
public interface Model {
    void tokenize(String piece, List<Integer> out);
}
