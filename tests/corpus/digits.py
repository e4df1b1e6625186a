"""Hand-written digits: an SVC as in scikit-learn's gallery example, then k-means on the same
images as in the Python Data Science Handbook."""

from __future__ import annotations

from tests.corpus import Expected

CELLS = [
    # 0
    """\
import matplotlib.pyplot as plt
import numpy as np
from sklearn import datasets, metrics, svm
from sklearn.cluster import KMeans
from sklearn.model_selection import train_test_split""",
    # 1
    """\
digits = datasets.load_digits()

_, axes = plt.subplots(nrows=1, ncols=4, figsize=(10, 3))
for ax, image, label in zip(axes, digits.images, digits.target):
    ax.set_axis_off()
    ax.imshow(image, cmap=plt.cm.gray_r, interpolation="nearest")
    ax.set_title("Training: %i" % label)""",
    # 2
    """\
# flatten the images
n_samples = len(digits.images)
data = digits.images.reshape((n_samples, -1))

# Create a classifier: a support vector classifier
clf = svm.SVC(gamma=0.001)

# Split data into 50% train and 50% test subsets
X_train, X_test, y_train, y_test = train_test_split(
    data, digits.target, test_size=0.5, shuffle=False
)

# Learn the digits on the train subset
clf.fit(X_train, y_train)

# Predict the value of the digit on the test subset
predicted = clf.predict(X_test)""",
    # 3
    """\
_, axes = plt.subplots(nrows=1, ncols=4, figsize=(10, 3), sharey=True)
for ax, image, prediction in zip(axes, X_test, predicted):
    ax.set_axis_off()
    image = image.reshape(8, 8)
    ax.imshow(image, cmap=plt.cm.gray_r, interpolation="nearest")
    ax.set_title(f"Prediction: {prediction}", fontsize=9)""",
    # 4
    """\
print(
    f"Classification report for classifier {clf}:\\n"
    f"{metrics.classification_report(y_test, predicted, digits=3)}\\n"
)
accuracy = metrics.accuracy_score(y_test, predicted)""",
    # 5
    """\
disp = metrics.ConfusionMatrixDisplay.from_predictions(
    y_test, predicted, cmap="Blues", colorbar=False, xticks_rotation="vertical"
)
disp.figure_.suptitle("Confusion Matrix", fontsize=12)
plt.show()""",
    # 6
    """\
kmeans = KMeans(n_clusters=10, random_state=0, n_init=10)
clusters = kmeans.fit_predict(digits.data)
kmeans.cluster_centers_.shape""",
    # 7
    """\
fig, ax = plt.subplots(2, 5, figsize=(8, 3), subplot_kw=dict(xticks=[], yticks=[]))
centers = kmeans.cluster_centers_.reshape(10, 8, 8)
for axi, center in zip(ax.flat, centers):
    axi.imshow(center, interpolation="nearest", cmap=plt.cm.binary)
fig.subplots_adjust(hspace=0.05, wspace=0.05)""",
    # 8
    """\
# fewer clusters than digits: which ones merge?
labels = KMeans(6, random_state=0, n_init=10).fit_predict(digits.data)
counts = np.bincount(labels, minlength=6)
counts.tolist()""",
    # 9
    """\
plt.figure(figsize=(6, 3))
plt.bar(np.arange(6), counts, color="gray", width=0.6, align="center")
plt.xticks(np.arange(6), [f"cluster {i}" for i in range(6)], rotation=45)
plt.title("images per cluster", loc="left")
plt.tight_layout()""",
]

FAILING: frozenset[int] = frozenset()

NOISE_ROOTS = frozenset({"plt", "ax", "axi", "axes", "fig", "disp", "dict", "np", "metrics"})

EXPECTED = {
    2: Expected(
        params={"clf": "SVC", "clf.gamma": 0.001, "clf.C": 1.0, "test_size": 0.5, "shuffle": False}
    ),
    # The report inside an f-string and the accuracy: both kept, with their predictions.
    4: Expected(
        absent=frozenset({"digits"}),
        metrics=frozenset({"accuracy"}),
        evaluations=frozenset({"classification_report", "accuracy"}),
    ),
    5: Expected(evaluations=frozenset({"disp"})),  # the display, named after its variable
    6: Expected(params={"kmeans.n_clusters": 10, "kmeans.random_state": 0}),
    8: Expected(params={"n_clusters": 6, "random_state": 0, "n_init": 10}),
}
