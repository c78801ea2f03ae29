// Conv2DTranspose, DepthwiseConv2D and RandomTranslation (issue #12). Convolution outputs are
// checked against PyTorch (python3-torch) on the same inputs and weights, with TensorFlow's
// padding written out by hand: test/nn/reference/layers_image_reference.py prints the constants
// below from det() values computed the same way. RandomTranslation is checked against shifts
// worked out by hand, whole-pixel and half-pixel (bilinear). Gradients: float64 finite differences,
// in the inputs and the kernels.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tapeflow::layers;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;

namespace {

// scale·sin(0.37·i + seed) over the flat index, rounded to float32 (as the reference script).
tf::Tensor det(const tf::Shape& shape,
               double seed,
               double scale = 1.0,
               tf::DType dtype = tf::float32) {
  std::vector<float> v(size_t(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(scale * std::sin(0.37 * double(i) + seed));
  return tf::cast(tf::constant(v, shape), dtype);
}

Vec values(const tf::Tensor& t) { return t.to_vector<double>(); }

auto near(const Vec& expected, double margin = 2e-5) { return M::Approx(expected).margin(margin); }

// The largest difference between the tape's gradient of sum(layer(x)·r) in `v` (r fixed) and
// float64 central differences, v's elements perturbed one at a time.
double weight_gradient_error(const L::Layer& layer, const tf::Tensor& x, const tf::Variable& v) {
  const tf::Tensor r = det(layer(x).shape(), 9.0, 1.0, tf::float64);
  auto loss = [&] { return tf::reduce_sum(layer(x) * r); };
  tf::GradientTape tape;
  const Vec analytic = values(tape.gradient(loss(), std::vector<tf::Variable>{v})[0]);
  Vec w = values(v.peek());
  double worst = 0;
  const double h = 1e-6;
  for (size_t j = 0; j < w.size(); ++j) {
    const double keep = w[j];
    w[j] = keep + h;
    v.assign(tf::constant(w, v.shape()));
    const double up = loss().item<double>();
    w[j] = keep - h;
    v.assign(tf::constant(w, v.shape()));
    const double down = loss().item<double>();
    w[j] = keep;
    worst = std::max(worst, std::abs((up - down) / (2 * h) - analytic[j]));
  }
  v.assign(tf::constant(w, v.shape()));
  return worst;
}

// ---- PyTorch reference values ----------------------------------------------------------------
// kConvTValid: shape (2, 5, 5, 3)
const Vec kConvTValid = {
    0.7383197,  0.1572928,   -0.5147871,  -0.09560253, -0.6237838, -0.8344659,  -0.1544501,
    0.07057779, 0.2499101,   -0.1065524,  0.3568338,   0.6247946,  0.1343557,   0.3545247,
    0.3804761,  0.3071004,   -0.2001774,  -0.6115288,  -0.7774598, -0.7066346,  -0.2749741,
    -0.1380401, 0.4780267,   0.8352765,   0.7728115,   0.6877041,  0.2341053,   -0.03028312,
    -0.4230974, -0.603384,   -0.4268051,  -0.5722972,  -0.4272208, -0.1759125,  0.02947371,
    0.2106643,  0.5138254,   0.2905562,   -0.09347113, 0.1783103,  -0.03710685, -0.2418936,
    0.03108524, 0.1033485,   0.1127751,   -0.3507553,  0.2019838,  0.6402937,   0.6869787,
    0.8551213,  0.5672027,   0.2280975,   -0.2361251,  -0.5856183, -0.4844733,  -0.8311073,
    -0.751799,  -0.3463156,  -0.2370979,  -0.01264197, -0.131233,  0.2567008,   0.5015851,
    0.5416629,  0.1545067,   -0.3222452,  -0.4357062,  -0.9802141, -1.020787,   -0.5286176,
    -0.199353,  0.2254068,   0.6538067,   0.6542972,   0.3037703,  0.8034855,   0.1846838,
    -0.5394981, -0.3059619,  -0.722992,   -0.7706308,  -0.2424568, 0.2214622,   0.5607635,
    0.1523937,  0.5002654,   0.5776878,   0.01465178,  0.04650608, 0.04525582,  0.08710172,
    -0.2746078, -0.5014592,  -0.7499778,  -0.4664211,  0.05232411, 0.01570444,  0.5847042,
    0.8390879,  0.828288,    0.5137997,   -0.07821712, -0.2074139, -0.649883,   -0.7612014,
    -0.322909,  -0.4876988,  -0.4061704,  -0.05268067, 0.1223252,  0.2245683,   0.5986472,
    0.3701931,  -0.06067412, 0.04620849,  -0.1720396,  -0.3090791, -0.13161,    0.06257184,
    0.2152457,  -0.2498156,  0.3066546,   0.6939462,   0.8169314,  0.7699916,   0.3115188,
    0.06414817, -0.5081346,  -0.8234099,  -0.673967,   -0.7947048, -0.5085409,  -0.1086238,
    0.07319721, 0.2079525,   -0.07180386, 0.08667599,  0.1910399,  0.3266508,   -0.1367643,
    -0.5374221, -0.4129369,  -0.8934398,  -0.9153965,  -0.398264,  0.05603364,  0.4722432,
    0.8199806,  0.8428261,   0.4160416};
// kConvTSame2: shape (2, 6, 6, 3)
const Vec kConvTSame2 = {
    0.7383197,   0.1572928,    -0.5147871,  -0.8429317,  -0.829988,   -0.3916873,  1.073489,
    0.979791,    0.3648218,    -0.8460483,  -0.8502668,  -0.4185212,  0.686357,    0.8964524,
    0.6288678,   -0.399247,    -0.4376461,  -0.2559077,  0.4938574,   -0.178022,   -0.7655636,
    -0.8779981,  -0.6310023,   -0.06273157, 1.119283,    0.7353219,   -0.04203771, -0.8907063,
    -0.6563296,  -0.08743026,  0.8698416,   0.8355049,   0.3553676,   -0.4301376,  -0.3501988,
    -0.09586299, -0.004678458, -0.5136898,  -0.7627881,  -0.5382309,  -0.1319631,  0.3345508,
    0.2395216,   -0.01026738,  -0.2634648,  -0.02631876, 0.358612,    0.5471871,   -0.138186,
    -0.2839101,  -0.2899102,   0.5067413,   0.6497669,   0.4441447,   -0.0963726,  0.04974171,
    0.161059,    0.2628016,    0.1272645,   -0.08361891, -0.6072456,  -0.1283419,  0.4089138,
    0.8256604,   0.5263169,    -0.05710244, -1.062282,   -0.6882191,  0.03704668,  0.9640284,
    0.6382289,   -0.03018337,  -0.5029963,  -0.01902242, 0.4661224,   0.7821252,   0.5892094,
    0.07932104,  -0.4987201,   -0.3495667,  -0.02634694, 0.6557899,   0.2086147,   -0.356458,
    -0.2929644,  -0.1072381,   0.1258016,   0.1938167,   -0.2929421,  -0.6352527,  -0.332046,
    0.0452164,   0.3900488,    0.6055304,   0.4044636,   -0.01694205, -0.3397726,  -0.6528058,
    -0.6331595,  -0.06231665,  -0.05270517, -0.02430454, 0.4598553,   -0.07603867, -0.5809386,
    -0.6901867,  -0.4941494,   -0.04841979, 0.8034855,   0.1846838,   -0.5394981,  -0.9068194,
    -0.899635,   -0.4306638,   0.9390982,   1.007049,    0.5394712,   -0.6646408,  -0.6851509,
    -0.3560629,  0.3319928,    0.6553202,   0.6270949,   -0.06743182, -0.1241333,  -0.1246842,
    0.5431378,   -0.1770757,   -0.8134464,  -0.9496643,  -0.6889659,  -0.076674,   1.063353,
    0.8449897,   0.1758646,    -0.7050262,  -0.5352534,  -0.09428845, 0.5515558,   0.7074952,
    0.4845911,   -0.08423366,  -0.1134133,  -0.09204967, -0.2474774,  -0.6146977,  -0.6691714,
    -0.2989571,  0.1278126,    0.4789494,   0.0497613,   -0.1586969,  -0.2929255,  0.2616397,
    0.5451597,   0.5347479,    -0.3118813,  -0.3776197,  -0.2546183,  0.692764,    0.6655104,
    0.2813741,   -0.2793775,   0.09622399,  0.4127153,   0.5879998,   0.3559055,   -0.07112868,
    -0.9006456,  -0.4415377,   0.2397432,   0.9600539,   0.6272199,   -0.04246848, -1.081457,
    -0.8520596,  -0.1857604,   0.8373209,   0.5586153,   -0.02106016, -0.3136275,  0.2065439,
    0.6099008,   0.7689106,    0.4259138,   -0.1486416,  -0.4236497,  -0.2410489,  0.05885667,
    0.4502501,   -0.04830602,  -0.530374,   -0.1153136,  0.04300967,  0.1700573,   -0.09653809,
    -0.5091023,  -0.6641529,   -0.1600543,  -0.0119318,  0.1336528,   0.2839978,   0.1859762,
    -0.0181016,  0.07090845,   -0.3837871,  -0.6465168,  -0.4104925,  -0.2957836,  -0.03514033,
    0.8013257,   0.2500713,    -0.440765,   -0.882888,   -0.6346736,  -0.06326402};
// kConvTValid2Pad1: shape (2, 8, 7, 3)
const Vec kConvTValid2Pad1 = {
    0.7383197,   0.1572928,   -0.5147871,   -0.8429317,  -0.829988,   -0.3916873,  0.7614412,
    0.1835615,   -0.4991113,  -0.8460483,   -0.8502668,  -0.4185212,  0.3936625,   0.1019725,
    -0.2518345,  -0.399247,   -0.4376461,   -0.2559077,  0.014112,    -0.02264265, -0.05633273,
    0.3261597,   0.7735868,   0.8076003,    0.4938574,   -0.178022,   -0.7655636,  0.3068066,
    0.7718373,   0.8243696,   0.520374,     -0.1556278,  -0.7590054,  0.1343557,   0.3545247,
    0.3804761,   0.2820837,   -0.06367405,  -0.3849053,  0.014112,    -0.02264265, -0.05633273,
    -1.064755,   -0.6531577,  0.09130318,   0.8626761,   1.082997,    0.7280637,   -1.546085,
    -0.813667,   0.3355711,   1.383954,     1.608624,    0.9831031,   -1.211334,   -0.5604207,
    0.3748488,   1.188718,    1.280995,     0.6944522,   0.014112,    -0.02264265, -0.05633273,
    -0.1009901,  -0.26007,    -0.2918959,   -0.0963726,  0.04974171,  0.161059,    -0.2761303,
    -0.7504754,  -0.8410535,  -0.4170385,   0.1252959,   0.5933137,   -0.2994556,  -0.8601784,
    -0.9797528,  -0.5121856,  0.1234689,    0.6857625,   0.014112,    -0.02264265, -0.05633273,
    -0.2355974,  -0.02588272, 0.1885913,    0.3790895,   0.2714821,   0.01309353,  0.8707528,
    0.51035,     -0.1257768,  -0.6214452,   -0.8918766,  -0.7045794,  1.529026,    0.7677941,
    -0.4038213,  -1.289544,   -1.600571,    -1.083179,   0.014112,    -0.02264265, -0.05633273,
    -0.1587652,  -0.5317976,  -0.6354453,   -0.332046,   0.0452164,   0.3900488,   0.07235078,
    0.06290328,  0.01177444,  0.02915608,   -0.06853066, -0.1391505,  0.2730042,   0.6128582,
    0.6233699,   0.3824891,   -0.1582754,   -0.6250309,  0.014112,    -0.02264265, -0.05633273,
    0.6055304,   0.4044636,   -0.01694205,  -0.3548167,  -0.6069178,  -0.5503417,  -0.06231665,
    -0.05270517, -0.02430454, 0.09147815,   0.05959409,  -0.01224037, -0.6901867,  -0.4941494,
    -0.04841979, 0.4973056,   0.683091,     0.5027979,   0.014112,    -0.02264265, -0.05633273,
    0.014112,    -0.02264265, -0.05633273,  0.014112,    -0.02264265, -0.05633273, 0.014112,
    -0.02264265, -0.05633273, 0.014112,     -0.02264265, -0.05633273, 0.014112,    -0.02264265,
    -0.05633273, 0.014112,    -0.02264265,  -0.05633273, 0.014112,    -0.02264265, -0.05633273,
    0.8034855,   0.1846838,   -0.5394981,   -0.9068194,  -0.899635,   -0.4306638,  0.6149695,
    0.1540003,   -0.3962997,  -0.6646408,   -0.6851509,  -0.3560629,  0.1121672,   0.03092144,
    -0.07527716, -0.06743182, -0.1241333,   -0.1246842,  0.014112,    -0.02264265, -0.05633273,
    0.3382408,   0.8304063,   0.8794381,    0.5431378,   -0.1770757,  -0.8134464,  0.2339376,
    0.6017561,   0.6460393,   0.4270727,    -0.1150978,  -0.6058438,  0.01465178,  0.04650608,
    0.04525582,  0.09500317,  -0.004760033, -0.1108124,  0.014112,    -0.02264265, -0.05633273,
    -1.4057,     -0.786498,   0.2353132,    1.20871,     1.450058,    0.924155,    -1.476618,
    -0.7328664,  0.3854415,   1.376808,     1.5482,      0.9010068,   -0.7677902,  -0.3077431,
    0.3044941,   0.8321309,   0.8246931,    0.3771099,   0.014112,    -0.02264265, -0.05633273,
    -0.2049163,  -0.544913,   -0.6086649,   -0.2793775,  0.09622399,  0.4127153,   -0.3099189,
    -0.8631519,  -0.9736812,  -0.5002447,   0.1350333,   0.6909014,   -0.2454329,  -0.7417516,
    -0.8588665,  -0.452071,   0.09136815,   0.5782371,   0.014112,    -0.02264265, -0.05633273,
    0.3500216,   0.2665057,   0.03481153,   -0.140422,   -0.3420239,  -0.3735048,  1.292132,
    0.6895117,   -0.2825452,  -1.032144,    -1.341684,   -0.9582185,  1.565757,    0.7400162,
    -0.4815786,  -1.376608,   -1.651403,    -1.071189,   0.014112,    -0.02264265, -0.05633273,
    -0.04518859, -0.2442121,  -0.3242762,   -0.1600543,  -0.0119318,  0.1336528,   0.1860736,
    0.3692222,   0.3504654,   0.2230624,    -0.1208342,  -0.4103058,  0.3273891,   0.7776865,
    0.812426,    0.4968848,   -0.1783763,   -0.7691143,  0.014112,    -0.02264265, -0.05633273,
    0.2839978,   0.1859762,   -0.0181016,   -0.1380419,  -0.2855955,  -0.2925437,  -0.4104925,
    -0.2957836,  -0.03514033, 0.3185528,    0.4058049,   0.2720166,   -0.882888,   -0.6346736,
    -0.06326402, 0.6159059,   0.8731004,    0.6648295,   0.014112,    -0.02264265, -0.05633273,
    0.014112,    -0.02264265, -0.05633273,  0.014112,    -0.02264265, -0.05633273, 0.014112,
    -0.02264265, -0.05633273, 0.014112,     -0.02264265, -0.05633273, 0.014112,    -0.02264265,
    -0.05633273, 0.014112,    -0.02264265,  -0.05633273, 0.014112,    -0.02264265, -0.05633273};
// kConvTSame2K2Pad: shape (2, 5, 8, 3)
const Vec kConvTSame2K2Pad = {
    0.7383197,   0.1572928,   -0.5147871,  -0.8429317,  -0.829988,   -0.3916873,   0.014112,
    -0.02264265, -0.05633273, 0.7614412,   0.1835615,   -0.4991113,  -0.8460483,   -0.8502668,
    -0.4185212,  0.014112,    -0.02264265, -0.05633273, 0.3936625,   0.1019725,    -0.2518345,
    -0.399247,   -0.4376461,  -0.2559077,  0.3261597,   0.7735868,   0.8076003,    0.4938574,
    -0.178022,   -0.7655636,  0.014112,    -0.02264265, -0.05633273, 0.3068066,    0.7718373,
    0.8243696,   0.520374,    -0.1556278,  -0.7590054,  0.014112,    -0.02264265,  -0.05633273,
    0.1343557,   0.3545247,   0.3804761,   0.2820837,   -0.06367405, -0.3849053,   -0.172645,
    -0.04479813, 0.09770202,  0.2637671,   0.1920475,   0.01109602,  0.014112,     -0.02264265,
    -0.05633273, -0.6412668,  -0.17998,    0.3666687,   0.7961959,   0.7094446,    0.2428303,
    0.014112,    -0.02264265, -0.05633273, -0.7670843,  -0.2328646,  0.414379,     0.9195456,
    0.8439141,   0.3180834,   -0.1009901,  -0.26007,    -0.2918959,  -0.0963726,   0.04974171,
    0.161059,    0.014112,    -0.02264265, -0.05633273, -0.2761303,  -0.7504754,   -0.8410535,
    -0.4170385,  0.1252959,   0.5933137,   0.014112,    -0.02264265, -0.05633273,  -0.2994556,
    -0.8601784,  -0.9797528,  -0.5121856,  0.1234689,   0.6857625,   -0.484287,    -0.1757898,
    0.2158775,   0.5692966,   0.5251199,   0.1974934,   0.014112,    -0.02264265,  -0.05633273,
    0.05920433,  -0.0386095,  -0.1250071,  -0.07134885, -0.08018861, -0.05586363,  0.014112,
    -0.02264265, -0.05633273, 0.5791095,   0.1069225,   -0.4299707,  -0.6672929,   -0.6553969,
    -0.3094661,  0.8034855,   0.1846838,   -0.5394981,  -0.9068194,  -0.899635,    -0.4306638,
    0.014112,    -0.02264265, -0.05633273, 0.6149695,   0.1540003,   -0.3962997,   -0.6646408,
    -0.6851509,  -0.3560629,  0.014112,    -0.02264265, -0.05633273, 0.1121672,    0.03092144,
    -0.07527716, -0.06743182, -0.1241333,  -0.1246842,  0.3382408,   0.8304063,    0.8794381,
    0.5431378,   -0.1770757,  -0.8134464,  0.014112,    -0.02264265, -0.05633273,  0.2339376,
    0.6017561,   0.6460393,   0.4270727,   -0.1150978,  -0.6058438,  0.014112,     -0.02264265,
    -0.05633273, 0.01465178,  0.04650608,  0.04525582,  0.09500317,  -0.004760033, -0.1108124,
    -0.4419241,  -0.1201748,  0.2556545,   0.5724297,   0.4899702,   0.1424466,    0.014112,
    -0.02264265, -0.05633273, -0.7574798,  -0.2202556,  0.4233972,   0.9202559,    0.835945,
    0.3056033,   0.014112,    -0.02264265, -0.05633273, -0.6694445,  -0.2169724,   0.340211,
    0.7941119,   0.7328245,   0.2794447,   -0.2049163,  -0.544913,   -0.6086649,   -0.2793775,
    0.09622399,  0.4127153,   0.014112,    -0.02264265, -0.05633273, -0.3099189,   -0.8631519,
    -0.9736812,  -0.5002447,  0.1350333,   0.6909014,   0.014112,    -0.02264265,  -0.05633273,
    -0.2454329,  -0.7417516,  -0.8588665,  -0.452071,   0.09136815,  0.5782371,    -0.2238662,
    -0.1120425,  0.04960748,  0.2599789,   0.2345471,   0.07765344,  0.014112,     -0.02264265,
    -0.05633273, 0.3461897,   0.03964911,  -0.2964094,  -0.4027579,  -0.3982567,   -0.194221,
    0.014112,    -0.02264265, -0.05633273, 0.7425481,   0.1587582,   -0.5168511,   -0.8474456,
    -0.8345907,  -0.3939713};
// kDepthwiseValid: shape (2, 2, 3, 4)
const Vec kDepthwiseValid = {-1.218261,  -1.445882, -1.42608,  -1.464795, -0.2790573, -0.779996,
                             -0.759602,  -1.157497, 0.7914957, 0.2984124, 0.327267,   -0.2062686,
                             0.4881844,  1.017959,  1.069407,  1.452947,  -0.6045749, -0.007769684,
                             0.03687188, 0.6231949, -1.395719, -1.024899, -0.9918775, -0.4940416,
                             1.438546,   1.237457,  1.278428,  0.9091229, 1.3013,     1.513531,
                             1.563518,   1.56674,   0.4687775, 1.002468,  1.053861,   1.443339,
                             -1.465195,  -1.502915, -1.48039,  -1.323492, -0.7742634, -1.175278,
                             -1.156273,  -1.402659, 0.3070412, -0.228361, -0.2042801, -0.7096609};
// kDepthwiseSame2: shape (2, 2, 3, 2)
const Vec kDepthwiseSame2 = {
    -1.332548, -1.290997,  -0.3622491, -0.06076031, 0.5817911, 1.095103,  -0.6080093, -0.1268634,
    1.128307,  1.505277,   0.9484266,  1.161518,    0.9103615, 1.277395,  1.462977,   1.4787,
    0.3611644, 0.02132829, 1.517578,   1.344929,    0.2659576, -0.110648, -0.5205557, -1.045142};

}  // namespace

// ---- Conv2DTranspose ---------------------------------------------------------------------------

TEST_CASE("Conv2DTranspose valid, same, strides and output_padding match PyTorch",
          "[layers_image]") {
  struct Case {
    const char* name;
    L::Size2 kernel, strides;
    const char* padding;
    std::optional<L::Size2> output_padding;
    tf::Shape out;
    const Vec& expected;
  };
  const std::vector<Case> cases = {
      {"valid", {3, 3}, {1, 1}, "valid", std::nullopt, {2, 5, 5, 3}, kConvTValid},
      {"same, stride 2", {3, 3}, {2, 2}, "same", std::nullopt, {2, 6, 6, 3}, kConvTSame2},
      {"valid, stride 2, output_padding 1",
       {3, 2},
       {2, 2},
       "valid",
       L::Size2{1, 1},
       {2, 8, 7, 3},
       kConvTValid2Pad1},
      {"same, even kernel, strides (2, 3), output_padding (1, 2)",
       {2, 2},
       {2, 3},
       "SAME",
       L::Size2{1, 2},
       {2, 5, 8, 3},
       kConvTSame2K2Pad},
  };
  auto x = det({2, 3, 3, 2}, 1.0);
  for (const Case& c : cases) {
    INFO(c.name);
    L::Conv2DTranspose conv({.filters = 3,
                             .kernel_size = c.kernel,
                             .strides = c.strides,
                             .padding = c.padding,
                             .output_padding = c.output_padding});
    conv.build(x.shape());
    CHECK(conv.kernel().shape() == tf::Shape{c.kernel.h, c.kernel.w, 3, 2});
    CHECK(conv.bias().shape() == tf::Shape{3});
    conv.kernel().assign(det(conv.kernel().shape(), 2.0, 0.5));
    conv.bias().assign(det({3}, 3.0, 0.1));
    tf::Tensor y = conv(x);
    CHECK(y.shape() == c.out);
    CHECK(conv.compute_output_shape(x.shape()) == c.out);
    CHECK_THAT(values(y), near(c.expected));
  }
}

TEST_CASE("Conv2DTranspose: names, Glorot kernel, activation, no bias", "[layers_image]") {
  L::clear_session();
  L::Conv2DTranspose conv({.filters = 4, .strides = 2, .padding = "same", .activation = "relu"});
  tf::Tensor y = conv(det({1, 5, 5, 6}, 1.0));
  CHECK(y.shape() == tf::Shape{1, 10, 10, 4});
  CHECK(conv.name() == "conv2d_transpose");
  CHECK(conv.class_name() == "Conv2DTranspose");
  CHECK(conv.kernel().name() == "conv2d_transpose/kernel");
  CHECK(conv.bias().name() == "conv2d_transpose/bias");
  CHECK(tf::reduce_min(y).item<float>() >= 0.f);
  // Keras' fans for [3, 3, 4, 6]: 9·4 in, 9·6 out.
  const double limit = std::sqrt(6.0 / (36 + 54));
  const Vec k = values(conv.kernel().peek());
  CHECK(*std::max_element(k.begin(), k.end()) <= limit);
  CHECK(*std::min_element(k.begin(), k.end()) >= -limit);
  CHECK(*std::max_element(k.begin(), k.end()) > 0.8 * limit);
  L::Conv2DTranspose plain({.filters = 2, .use_bias = false});
  CHECK(plain(det({1, 2, 2, 1}, 1.0)).shape() == tf::Shape{1, 4, 4, 2});
  CHECK(plain.trainable_variables().size() == 1);
}

TEST_CASE("Conv2DTranspose gradients match float64 finite differences", "[layers_image][grad]") {
  L::Conv2DTranspose conv(
      {.filters = 2, .kernel_size = {2, 3}, .strides = 2, .padding = "same", .output_padding = 1});
  auto x = det({1, 2, 3, 2}, 1.0, 1.0, tf::float64);
  CHECK(conv(x).shape() == tf::Shape{1, 3, 6, 2});
  CHECK(conv.kernel().dtype() == tf::float64);
  conv.bias().assign(det({2}, 2.0, 0.1, tf::float64));
  CHECK(tf::test::max_gradient_error([&](auto& in) { return conv(in[0]); }, {x}) < 1e-7);
  CHECK(weight_gradient_error(conv, x, conv.kernel()) < 1e-6);
  CHECK(weight_gradient_error(conv, x, conv.bias()) < 1e-6);
}

TEST_CASE("Conv2DTranspose rejects bad options and inputs, naming the layer", "[layers_image]") {
  auto named = [](const char* name) { return Catch::Contains(std::string("\"") + name + "\""); };
  CHECK_THROWS_AS(L::Conv2DTranspose({.filters = 0, .name = "up"}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      L::Conv2DTranspose({.filters = 0, .name = "up"}),
      Catch::Contains("Conv2DTranspose") && named("up") && Catch::Contains("filters"));
  CHECK_THROWS_WITH(L::Conv2DTranspose({.filters = 1, .strides = {0, 1}, .name = "up"}),
                    named("up") && Catch::Contains("strides"));
  CHECK_THROWS_WITH(L::Conv2DTranspose({.filters = 1, .padding = "full", .name = "up"}),
                    named("up") && Catch::Contains("padding"));
  CHECK_THROWS_WITH(L::Conv2DTranspose({.filters = 1, .activation = "swoosh", .name = "up"}),
                    named("up") && Catch::Contains("swoosh"));
  CHECK_THROWS_AS(L::Conv2DTranspose({.filters = 1, .strides = 2, .output_padding = 2}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::Conv2DTranspose({.filters = 1, .output_padding = 1, .name = "up"}),
                    named("up") && Catch::Contains("greater than output padding"));
  L::Conv2DTranspose conv({.filters = 2, .name = "up"});
  CHECK_THROWS_AS(conv(tf::ones({2, 3, 3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(conv(tf::ones({2, 3, 3})), named("up"));
  conv(tf::ones({1, 3, 3, 2}));
  CHECK_THROWS_WITH(conv(tf::ones({1, 3, 3, 5})), named("up"));
  // "same", an even kernel and output_padding 0: (3 - 1)·2 + 2 - 2 = 4 rows, which a strided
  // conv2d maps to 2, not 3 (TF refuses it too).
  L::Conv2DTranspose even({.filters = 1,
                           .kernel_size = 2,
                           .strides = 2,
                           .padding = "same",
                           .output_padding = 0,
                           .name = "even"});
  CHECK_THROWS_AS(even(tf::ones({1, 3, 3, 1})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(even(tf::ones({1, 3, 3, 1})), named("even") && Catch::Contains("(1, 4, 4, 1)"));
}

// ---- DepthwiseConv2D ---------------------------------------------------------------------------

TEST_CASE("DepthwiseConv2D valid (depth_multiplier 2) and same/stride 2 match PyTorch",
          "[layers_image]") {
  auto x = det({2, 4, 5, 2}, 4.0);
  L::DepthwiseConv2D valid({.depth_multiplier = 2});
  valid.build(x.shape());
  CHECK(valid.depthwise_kernel().shape() == tf::Shape{3, 3, 2, 2});
  CHECK(valid.bias().shape() == tf::Shape{4});
  valid.depthwise_kernel().assign(det({3, 3, 2, 2}, 5.0, 0.5));
  valid.bias().assign(det({4}, 6.0, 0.1));
  tf::Tensor y = valid(x);
  CHECK(y.shape() == tf::Shape{2, 2, 3, 4});
  CHECK_THAT(values(y), near(kDepthwiseValid));

  L::DepthwiseConv2D same({.kernel_size = {2, 3}, .strides = 2, .padding = "same"});
  same.build(x.shape());
  same.depthwise_kernel().assign(det({2, 3, 2, 1}, 7.0, 0.5));
  same.bias().assign(det({2}, 8.0, 0.1));
  y = same(x);
  CHECK(y.shape() == tf::Shape{2, 2, 3, 2});
  CHECK(same.compute_output_shape(x.shape()) == y.shape());
  CHECK_THAT(values(y), near(kDepthwiseSame2));
}

TEST_CASE("DepthwiseConv2D: names, Glorot kernel, gradients by finite differences",
          "[layers_image][grad]") {
  L::clear_session();
  L::DepthwiseConv2D dw({.depth_multiplier = 3, .activation = "tanh"});
  CHECK(dw(det({1, 4, 4, 2}, 1.0)).shape() == tf::Shape{1, 2, 2, 6});
  CHECK(dw.name() == "depthwise_conv2d");
  CHECK(dw.class_name() == "DepthwiseConv2D");
  CHECK(dw.depthwise_kernel().name() == "depthwise_conv2d/depthwise_kernel");
  const double limit = std::sqrt(6.0 / (9 * 2 + 9 * 3));  // Keras' fans for [3, 3, 2, 3]
  const Vec k = values(dw.depthwise_kernel().peek());
  CHECK(*std::max_element(k.begin(), k.end()) <= limit);
  CHECK(*std::min_element(k.begin(), k.end()) >= -limit);

  L::DepthwiseConv2D g(
      {.kernel_size = 2, .strides = {1, 2}, .padding = "same", .depth_multiplier = 2});
  auto x = det({1, 3, 4, 2}, 2.0, 1.0, tf::float64);
  CHECK(g(x).shape() == tf::Shape{1, 3, 2, 4});
  g.bias().assign(det({4}, 3.0, 0.1, tf::float64));
  CHECK(tf::test::max_gradient_error([&](auto& in) { return g(in[0]); }, {x}) < 1e-7);
  CHECK(weight_gradient_error(g, x, g.depthwise_kernel()) < 1e-6);
  CHECK(weight_gradient_error(g, x, g.bias()) < 1e-6);
}

TEST_CASE("DepthwiseConv2D rejects bad options and inputs, naming the layer", "[layers_image]") {
  auto named = [](const char* name) { return Catch::Contains(std::string("\"") + name + "\""); };
  CHECK_THROWS_AS(L::DepthwiseConv2D({.depth_multiplier = 0, .name = "dw"}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      L::DepthwiseConv2D({.depth_multiplier = 0, .name = "dw"}),
      Catch::Contains("DepthwiseConv2D") && named("dw") && Catch::Contains("depth_multiplier"));
  CHECK_THROWS_WITH(L::DepthwiseConv2D({.kernel_size = {3, -1}, .name = "dw"}),
                    named("dw") && Catch::Contains("kernel_size"));
  CHECK_THROWS_WITH(L::DepthwiseConv2D({.padding = "causal", .name = "dw"}),
                    named("dw") && Catch::Contains("padding"));
  L::DepthwiseConv2D dw({.name = "dw"});
  CHECK_THROWS_WITH(dw(tf::ones({1, 2, 2, 2})), named("dw"));  // smaller than the kernel
  CHECK_THROWS_WITH(dw(tf::ones({4, 4, 1})), named("dw"));
  dw(tf::ones({1, 4, 4, 2}));
  CHECK_THROWS_AS(dw(tf::ones({1, 4, 4, 3})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(dw(tf::ones({1, 4, 4, 3})), named("dw"));
}

// ---- RandomTranslation -------------------------------------------------------------------------

TEST_CASE("RandomTranslation: fixed shifts and each fill mode, worked by hand", "[layers_image]") {
  // 0 1 2 3 / 4 5 6 7 / 8 9 10 11, shifted down 1 row (1/3 of 3) and left 2 columns (-1/2 of
  // 4): output (i, j) reads (i - 1, j + 2).
  auto img = tf::reshape(tf::range(0.f, 12.f), {1, 3, 4, 1});
  const std::vector<std::pair<const char*, Vec>> cases = {
      {"constant", {-1, -1, -1, -1, 2, 3, -1, -1, 6, 7, -1, -1}},
      {"reflect", {2, 3, 3, 2, 2, 3, 3, 2, 6, 7, 7, 6}},
      {"nearest", {2, 3, 3, 3, 2, 3, 3, 3, 6, 7, 7, 7}},
      {"wrap", {10, 11, 8, 9, 2, 3, 0, 1, 6, 7, 4, 5}},
  };
  for (const auto& [mode, expected] : cases) {
    INFO(mode);
    L::RandomTranslation shift({.height_factor = {1.0 / 3, 1.0 / 3},
                                .width_factor = {-0.5, -0.5},
                                .fill_mode = mode,
                                .fill_value = -1.0});
    CHECK(values(shift(img)) == values(img));  // inference: the identity
    tf::Tensor y = shift(img, true);
    CHECK(y.shape() == img.shape());
    CHECK(values(y) == expected);
  }
  // Channels move together; a zero factor leaves the image as it is.
  auto rgb = tf::reshape(tf::range(0.f, 24.f), {1, 3, 4, 2});
  L::RandomTranslation right({.width_factor = {0.25, 0.25}, .fill_mode = "constant"});
  CHECK(values(right(rgb, true)) ==
        Vec{0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 8, 9, 10, 11, 12, 13, 0, 0, 16, 17, 18, 19, 20, 21});
  CHECK(values(L::RandomTranslation({})(rgb, true)) == values(rgb));
}

TEST_CASE("RandomTranslation bilinear: half-pixel shifts and each fill mode, worked by hand",
          "[layers_image]") {
  // 0 1 2 3 / 4 5 6 7 moved right by half a pixel (1/8 of 4): output (i, j) is the mean of
  // input (i, j - 1) and (i, j), the first of them outside the image for j = 0. Outside, TF's
  // fill modes map the coordinate -0.5 in and clamp it: reflect -> 0, nearest -> 0, and wrap
  // -> 3.5 -> 3 (not the modulo's 1.5); "constant" reads fill_value there.
  auto img = tf::reshape(tf::range(0.f, 8.f), {1, 2, 4, 1});
  const std::vector<std::pair<const char*, Vec>> cases = {
      {"constant", {-0.5, 0.5, 1.5, 2.5, 1.5, 4.5, 5.5, 6.5}},
      {"reflect", {0, 0.5, 1.5, 2.5, 4, 4.5, 5.5, 6.5}},
      {"nearest", {0, 0.5, 1.5, 2.5, 4, 4.5, 5.5, 6.5}},
      {"wrap", {3, 0.5, 1.5, 2.5, 7, 4.5, 5.5, 6.5}},
  };
  for (const auto& [mode, expected] : cases) {
    INFO(mode);
    L::RandomTranslation shift(
        {.width_factor = {0.125, 0.125}, .fill_mode = mode, .fill_value = -1.0});
    CHECK_THAT(values(shift(img, true)), near(expected, 1e-6));
  }
  // Down half a row and left half a column, zeros outside: each output is a quarter of the 4
  // pixels around (i - 0.5, j + 0.5).
  L::RandomTranslation both(
      {.height_factor = {0.25, 0.25}, .width_factor = {-0.125, -0.125}, .fill_mode = "constant"});
  CHECK_THAT(values(both(img, true)), near({0.25, 0.75, 1.25, 0.75, 2.5, 3.5, 4.5, 2.5}, 1e-6));
}

TEST_CASE("RandomTranslation shifts each image by its own offset, within the factors",
          "[layers_image]") {
  const int64_t n = 16, h = 6, w = 8, c = 2;
  auto img = det({n, h, w, c}, 1.0);
  // Nearest interpolation with zeros outside: each image moved by whole pixels (dy, dx).
  auto moved = [&](const Vec& x, int64_t dy, int64_t dx) {
    Vec out(x.size(), 0.0);
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        for (int64_t k = 0; k < c; ++k)
          if (i - dy >= 0 && i - dy < h && j - dx >= 0 && j - dx < w)
            out[size_t((i * w + j) * c + k)] = x[size_t(((i - dy) * w + j - dx) * c + k)];
    return out;
  };
  L::RandomTranslation shift({.height_factor = 0.5,
                              .width_factor = {-0.25, 0.5},
                              .fill_mode = "constant",
                              .interpolation = "nearest",
                              .seed = 7});
  tf::Tensor y = shift(img, true);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t b = 0; b < n; ++b) {
    const Vec yi = values(tf::slice(y, {b, 0, 0, 0}, {1, h, w, c}));
    const Vec xi = values(tf::slice(img, {b, 0, 0, 0}, {1, h, w, c}));
    int matches = 0;
    for (int64_t dy = -3; dy <= 3; ++dy)
      for (int64_t dx = -2; dx <= 4; ++dx)
        if (moved(xi, dy, dx) == yi) {
          ++matches;
          seen.insert({dy, dx});
        }
    CHECK(matches == 1);
  }
  CHECK(seen.size() > 4);
  // The same seed gives the same shifts; the next call draws new ones.
  L::RandomTranslation again({.height_factor = 0.5,
                              .width_factor = {-0.25, 0.5},
                              .fill_mode = "constant",
                              .interpolation = "nearest",
                              .seed = 7});
  CHECK(values(again(img, true)) == values(y));
  CHECK(values(again(img, true)) != values(y));
  // Bilinear (the default) with random fractional shifts: still a convex mix of the image's
  // own values, so it stays within their range.
  L::RandomTranslation blend({.height_factor = 0.3, .width_factor = 0.3, .seed = 8});
  tf::Tensor z = blend(img, true);
  CHECK(tf::reduce_max(z).item<float>() <= tf::reduce_max(img).item<float>() + 1e-6f);
  CHECK(tf::reduce_min(z).item<float>() >= tf::reduce_min(img).item<float>() - 1e-6f);
  CHECK(values(z) != values(img));
}

TEST_CASE("RandomTranslation gradient matches float64 finite differences", "[layers_image][grad]") {
  auto x = det({2, 3, 4, 2}, 1.0, 1.0, tf::float64);
  // Fractional shifts (-1.02 rows, 0.3 columns): bilinear weights on every tap.
  for (const char* mode : {"constant", "reflect", "nearest", "wrap"}) {
    INFO(mode);
    L::RandomTranslation shift({.height_factor = {-0.34, -0.34},
                                .width_factor = {0.075, 0.075},
                                .fill_mode = mode,
                                .fill_value = 0.5});
    CHECK(tf::test::max_gradient_error([&](auto& in) { return shift(in[0], true); }, {x}) < 1e-7);
  }
}

TEST_CASE("RandomTranslation rejects bad options and inputs, naming the layer", "[layers_image]") {
  auto named = [](const char* name) { return Catch::Contains(std::string("\"") + name + "\""); };
  CHECK_THROWS_AS(L::RandomTranslation({.height_factor = 1.5, .name = "rt"}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      L::RandomTranslation({.height_factor = 1.5, .name = "rt"}),
      Catch::Contains("RandomTranslation") && named("rt") && Catch::Contains("height_factor"));
  CHECK_THROWS_WITH(L::RandomTranslation({.width_factor = {0.2, -0.1}, .name = "rt"}),
                    named("rt") && Catch::Contains("width_factor"));
  CHECK_THROWS_WITH(L::RandomTranslation({.fill_mode = "mirror", .name = "rt"}),
                    named("rt") && Catch::Contains("mirror"));
  CHECK_THROWS_AS(L::RandomTranslation({.interpolation = "cubic"}), tf::InvalidArgumentError);
  L::RandomTranslation rt({.height_factor = 0.1, .name = "rt"});
  CHECK_THROWS_AS(rt(tf::ones({3, 4, 1}), true), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(rt(tf::ones({3, 4, 1})), named("rt"));
}

TEST_CASE("the three layers' configs carry their options (what model.save writes)",
          "[layers_image]") {
  L::Conv2DTranspose up({.filters = 3,
                         .kernel_size = {2, 3},
                         .strides = 2,
                         .padding = "SAME",
                         .output_padding = L::Size2{1, 0},
                         .activation = "relu",
                         .name = "up"});
  const L::LayerConfig c = up.impl()->get_config();
  CHECK(c.name() == "up");
  CHECK(c.get_int("filters") == 3);
  CHECK(c.get_ints("kernel_size") == std::vector<int64_t>{2, 3});
  CHECK(c.get_ints("strides") == std::vector<int64_t>{2, 2});
  CHECK(c.get_string("padding") == "same");
  CHECK(c.get_ints("output_padding") == std::vector<int64_t>{1, 0});
  CHECK(c.get_string("activation") == "relu");
  CHECK(c.get_bool("use_bias"));
  CHECK_FALSE(L::Conv2DTranspose({.filters = 1}).impl()->get_config().has("output_padding"));

  const L::LayerConfig d =
      L::DepthwiseConv2D({.depth_multiplier = 2, .use_bias = false}).impl()->get_config();
  CHECK(d.get_int("depth_multiplier") == 2);
  CHECK(d.get_ints("kernel_size") == std::vector<int64_t>{3, 3});
  CHECK(d.get_string("padding") == "valid");
  CHECK_FALSE(d.get_bool("use_bias"));

  const L::LayerConfig r = L::RandomTranslation({.height_factor = 0.25,
                                                 .width_factor = {-0.125, 0.5},
                                                 .fill_mode = "wrap",
                                                 .interpolation = "nearest",
                                                 .fill_value = 0.5,
                                                 .seed = 4})
                               .impl()
                               ->get_config();
  CHECK(r.get_json("height_factor") == "[-0.25,0.25]");
  CHECK(r.get_json("width_factor") == "[-0.125,0.5]");
  CHECK(r.get_string("fill_mode") == "wrap");
  CHECK(r.get_string("interpolation") == "nearest");
  CHECK(r.get_double("fill_value") == 0.5);
  CHECK(r.get_int("seed") == 4);
  CHECK(L::RandomTranslation({}).impl()->get_config().get_string("interpolation") == "bilinear");
}
