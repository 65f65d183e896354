"""Building blocks both recommendations and search use: ANN retrieval, the LambdaRank
ranker, learning-to-rank training sets, the recommender interface, product visibility."""
