/* The engine's compiled loops: where NumPy would take one call per column.
 *
 * Each does what a NumPy function beside it does, to rounding (tests compare
 * them), and that function is used where this module was not built:
 *
 * sweep: engine.parsimonious._sweep_rounds, one sweep of plane rotations of
 * the shared axes of EVE / VVE runs. The same rotations, in the same order, as parsimonious._sweep_rounds (its
 * docstring derives them): for every round of the round-robin schedule and
 * every pair (i, j) in it, the plane's coefficient
 *     ab = sum_k (1/e_kj - 1/e_ki) * ((o_i'W_k o_i - o_j'W_k o_j) + 2i o_i'W_k o_j)
 * over the run's components k, then the turn conj(sqrt(ab / |ab|)) of columns
 * i and j of O and of every W_k O. In NumPy a round costs some fifteen array
 * calls whatever the size, and a sweep at 30 columns 29 rounds; here a sweep
 * is one call, and O is kept once per run rather than once per component.
 *
 * sweep(scatter, inv_eig, orient, starts, counts, active, schedule,
 *       n_components, n_runs, n_features, n_rounds, n_pairs)
 *   scatter  float64 (C, D, D)  the W_k, C-contiguous
 *   inv_eig  float64 (C, D)     1 / e_k
 *   orient   float64 (R, D, D)  each run's axes O (columns), turned in place
 *   starts, counts int64 (R,)   each run's components: starts[r] + 0..counts[r]-1
 *   active   uint8 (R,)         runs to turn (others keep their axes)
 *   schedule int64 (rounds, P, 2) the axes paired in each round; an axis >= D
 *                               is odd D's padding (that pair is skipped)
 *
 * not_positive_definite(stack, out, K, D): model.gaussian's NumPy loop of the
 *   same name; out uint8 (K,) marks the (K, D, D) matrices with no Cholesky
 *   factor (a pivot not above 0, or NaN).
 * inverse_lower(chol, out, K, D): model.gaussian.inverse_lower, the inverses
 *   of lower-triangular (K, D, D) matrices by forward substitution, row by row.
 *
 * Uses only the limited C API (one binary for every Python from 3.11); the
 * loops run with the GIL released.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* conj(sqrt(x + iy)) for |x + iy| = 1, principal root: (c, s) with the turn
 * c + is. The two branches keep full precision near x = -1 and x = 1. */
static void half_turn(double x, double y, double *c, double *s)
{
    double h = hypot(x, y);
    double t;
    if (x >= 0.0) {
        t = sqrt(0.5 * (x + h));
        *c = t;
        *s = -(y / (2.0 * t));
    } else {
        t = sqrt(0.5 * (h - x));
        *c = fabs(y) / (2.0 * t);
        *s = -copysign(t, y);
    }
}

/* Columns i and j of a stored-by-column (D x D) matrix: (ci, cj) ->
 * (c ci - s cj, s ci + c cj). */
static void turn(double *m, Py_ssize_t d, Py_ssize_t i, Py_ssize_t j, double c, double s)
{
    double *a = m + i * d, *b = m + j * d;
    for (Py_ssize_t e = 0; e < d; e++) {
        double u = a[e], v = b[e];
        a[e] = c * u - s * v;
        b[e] = s * u + c * v;
    }
}

static void sweep_run(const double *scatter, const double *inv_eig, double *orient,
                      int64_t first, int64_t count, const int64_t *schedule,
                      Py_ssize_t d, Py_ssize_t rounds, Py_ssize_t pairs,
                      double *ot, double *vt)
{
    /* ot[a*d + e] = O[e][a]; vt[k][a*d + e] = (W_k O)[e][a]: columns stored contiguously. */
    for (Py_ssize_t a = 0; a < d; a++)
        for (Py_ssize_t e = 0; e < d; e++)
            ot[a * d + e] = orient[e * d + a];
    for (int64_t k = 0; k < count; k++) {
        const double *w = scatter + (first + k) * d * d;
        double *v = vt + k * d * d;
        for (Py_ssize_t a = 0; a < d; a++) {
            const double *o = ot + a * d;
            for (Py_ssize_t e = 0; e < d; e++) {
                const double *row = w + e * d;
                double sum = 0.0;
                for (Py_ssize_t f = 0; f < d; f++)
                    sum += row[f] * o[f];
                v[a * d + e] = sum;
            }
        }
    }
    for (Py_ssize_t t = 0; t < rounds; t++) {
        for (Py_ssize_t p = 0; p < pairs; p++) {
            int64_t i = schedule[(t * pairs + p) * 2], j = schedule[(t * pairs + p) * 2 + 1];
            if (i >= d || j >= d)
                continue;
            const double *oi = ot + i * d, *oj = ot + j * d;
            double re = 0.0, im = 0.0;
            for (int64_t k = 0; k < count; k++) {
                const double *vi = vt + k * d * d + i * d, *vj = vt + k * d * d + j * d;
                double tr = 0.0, ti = 0.0;
                for (Py_ssize_t e = 0; e < d; e++) {
                    tr += oi[e] * vi[e] - oj[e] * vj[e];
                    ti += oi[e] * vj[e] + oj[e] * vi[e];
                }
                const double *lam = inv_eig + (first + k) * d;
                double gap = lam[j] - lam[i];
                re += gap * tr;
                im += gap * ti;
            }
            double size = hypot(re, im);
            if (!(size > 0.0))  /* a flat plane, or NaN: no turn */
                continue;
            double c, s;
            half_turn(re / size, im / size, &c, &s);
            turn(ot, d, i, j, c, s);
            for (int64_t k = 0; k < count; k++)
                turn(vt + k * d * d, d, i, j, c, s);
        }
    }
    for (Py_ssize_t a = 0; a < d; a++)
        for (Py_ssize_t e = 0; e < d; e++)
            orient[e * d + a] = ot[a * d + e];
}

static PyObject *sweep(PyObject *self, PyObject *args)
{
    Py_buffer scatter, inv_eig, orient, starts, counts, active, schedule;
    Py_ssize_t n_comp, n_runs, d, rounds, pairs;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*w*y*y*y*y*nnnnn", &scatter, &inv_eig, &orient, &starts,
                          &counts, &active, &schedule, &n_comp, &n_runs, &d, &rounds, &pairs))
        return NULL;
    PyObject *result = NULL;
    if (scatter.len != (Py_ssize_t)sizeof(double) * n_comp * d * d
        || inv_eig.len != (Py_ssize_t)sizeof(double) * n_comp * d
        || orient.len != (Py_ssize_t)sizeof(double) * n_runs * d * d
        || starts.len != (Py_ssize_t)sizeof(int64_t) * n_runs
        || counts.len != (Py_ssize_t)sizeof(int64_t) * n_runs
        || active.len != n_runs
        || schedule.len != (Py_ssize_t)sizeof(int64_t) * rounds * pairs * 2) {
        PyErr_SetString(PyExc_ValueError, "sweep: buffer sizes do not match the shapes");
        goto done;
    }
    const int64_t *first = starts.buf, *count = counts.buf;
    int64_t most = 0;
    for (Py_ssize_t r = 0; r < n_runs; r++) {
        if (first[r] < 0 || count[r] < 0 || first[r] + count[r] > n_comp) {
            PyErr_SetString(PyExc_ValueError, "sweep: a run's components lie outside scatter");
            goto done;
        }
        if (count[r] > most)
            most = count[r];
    }
    double *work = malloc(sizeof(double) * (size_t)(d * d * (most + 1)) + 1);
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *on = active.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n_runs; r++)
        if (on[r] && count[r] > 0)
            sweep_run(scatter.buf, inv_eig.buf, (double *)orient.buf + r * d * d, first[r],
                      count[r], schedule.buf, d, rounds, pairs, work, work + d * d);
    Py_END_ALLOW_THREADS
    free(work);
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&scatter);
    PyBuffer_Release(&inv_eig);
    PyBuffer_Release(&orient);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&active);
    PyBuffer_Release(&schedule);
    return result;
}

/* 1 where a (D x D) symmetric matrix has no Cholesky factor, one matrix at a time. */
static PyObject *not_positive_definite(PyObject *self, PyObject *args)
{
    Py_buffer stack, out;
    Py_ssize_t k, d;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*nn", &stack, &out, &k, &d))
        return NULL;
    PyObject *result = NULL;
    if (stack.len != (Py_ssize_t)sizeof(double) * k * d * d || out.len != k) {
        PyErr_SetString(PyExc_ValueError, "not_positive_definite: buffer sizes do not match");
        goto done;
    }
    double *l = malloc(sizeof(double) * (size_t)(d * d) + 1);
    if (l == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const double *all = stack.buf;
    unsigned char *bad = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t m = 0; m < k; m++) {
        const double *a = all + m * d * d;
        bad[m] = 0;
        for (Py_ssize_t j = 0; j < d && !bad[m]; j++) {
            for (Py_ssize_t i = j; i < d; i++) {
                double sum = a[i * d + j];
                for (Py_ssize_t q = 0; q < j; q++)
                    sum -= l[i * d + q] * l[j * d + q];
                if (i == j) {
                    if (!(sum > 0.0)) {
                        bad[m] = 1;
                        break;
                    }
                    l[j * d + j] = sqrt(sum);
                } else {
                    l[i * d + j] = sum / l[j * d + j];
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(l);
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&stack);
    PyBuffer_Release(&out);
    return result;
}

/* Inverses of lower-triangular matrices: row i of L^-1 is
 * (e_i - L[i, :i] L^-1[:i, :i]) / L[i, i]; the upper triangle is 0. */
static PyObject *inverse_lower(PyObject *self, PyObject *args)
{
    Py_buffer chol, out;
    Py_ssize_t k, d;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*w*nn", &chol, &out, &k, &d))
        return NULL;
    if (chol.len != (Py_ssize_t)sizeof(double) * k * d * d || out.len != chol.len) {
        PyErr_SetString(PyExc_ValueError, "inverse_lower: buffer sizes do not match");
        PyBuffer_Release(&chol);
        PyBuffer_Release(&out);
        return NULL;
    }
    const double *all = chol.buf;
    double *inv_all = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t m = 0; m < k; m++) {
        const double *l = all + m * d * d;
        double *inv = inv_all + m * d * d;
        for (Py_ssize_t i = 0; i < d; i++) {
            double diag = 1.0 / l[i * d + i];
            for (Py_ssize_t c = 0; c < i; c++) {
                double sum = 0.0;
                for (Py_ssize_t q = c; q < i; q++)
                    sum += l[i * d + q] * inv[q * d + c];
                inv[i * d + c] = -sum * diag;
            }
            inv[i * d + i] = diag;
            for (Py_ssize_t c = i + 1; c < d; c++)
                inv[i * d + c] = 0.0;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&chol);
    PyBuffer_Release(&out);
    return Py_NewRef(Py_None);
}

static PyMethodDef methods[] = {
    {"sweep", sweep, METH_VARARGS, "One sweep of plane rotations of EVE / VVE runs' axes."},
    {"not_positive_definite", not_positive_definite, METH_VARARGS,
     "Mark symmetric matrices with no Cholesky factor."},
    {"inverse_lower", inverse_lower, METH_VARARGS, "Inverses of lower-triangular matrices."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "The engine's compiled loops (see _native.c).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void)
{
    return PyModule_Create(&module);
}
