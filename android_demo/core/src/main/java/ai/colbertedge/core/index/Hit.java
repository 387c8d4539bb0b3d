package ai.colbertedge.core.index;

/** One search result: the caller's document id, its exact MaxSim score, its metadata (JSON object text). */
public final class Hit {
    public final String id;
    public final float score;
    public final String metadataJson;

    public Hit(String id, float score, String metadataJson) {
        this.id = id;
        this.score = score;
        this.metadataJson = metadataJson;
    }

    @Override
    public String toString() {
        return "Hit(" + id + ", " + score + ")";
    }
}
