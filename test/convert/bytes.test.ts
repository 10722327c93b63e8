// Byte-compare of today's conversions: every fixture the suite converts, in the variants it uses
// (chunk counts, LUT, argmax, monolithic, GGUF import, the fp16 remedy), must give the same bytes
// as the code of commit 7fe35b7 did. The sha256 of every output file below was recorded from that
// commit; a refactor that changes no math leaves them all equal. A change that alters the bytes
// on purpose records new hashes here and says why in its commit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { convert, convertOptions, type ConvertOptions } from '../../src/convert/pipeline.js'
import { palettizer, parseLutSpec } from '../../src/quant/index.js'
import { noFixture, smollm2Gguf } from '../fixtures/paths.js'

const ROOT = join(import.meta.dirname, '../..')
const STORIES = join(ROOT, '../shared/models/stories260K')
const TINY = (a: string) => join(ROOT, 'test/fixtures/tiny', a)
const GGUF = (a: string) => join(ROOT, 'test/fixtures/checkpoint', a)
const tmp = mkdtempSync(join(tmpdir(), 'anemll-bytes-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

const LUT = {
  lut1: parseLutSpec('6', '--lut1'),
  lut2: parseLutSpec('4', '--lut2'),
  lut3: parseLutSpec('6', '--lut3'),
}

/**
 * name → [model, options, steps]; context 32 / batch 8 unless said. The tiny GGUFs carry no
 * tokenizer, so only their model steps (1-3, one `--only` run each) are converted.
 */
const CASES: Record<string, [() => string | undefined, Partial<ConvertOptions>, number[]?]> = {
  'stories-fp16': [() => STORIES, {}],
  'stories-lut': [() => STORIES, LUT],
  'llama3-fp16': [() => TINY('llama3'), { chunks: 1 }],
  'llama3-lut-argmax': [() => TINY('llama3'), { ...LUT, argmax: true }],
  'qwen3-fp16': [() => TINY('qwen3'), { chunks: 2 }],
  'qwen3-lut': [() => TINY('qwen3'), { ...LUT, chunks: 3 }],
  'qwen2-fp16': [() => TINY('qwen2'), { chunks: 3 }],
  'qwen2-monolithic-lut': [() => TINY('qwen2'), { monolithic: true, lut2: LUT.lut2 }],
  'qwen2-gguf': [() => GGUF('qwen2-tiny.gguf'), { chunks: 1 }, [1, 2, 3]],
  // one chunk: 7fe35b7 also wrote an empty second chunk for this 1-layer model, now refused
  'qwen3-gguf': [() => GGUF('qwen3-tiny.gguf'), { chunks: 1 }, [1, 2, 3]],
  'llama31-gguf': [() => GGUF('rope-llama31.gguf'), { chunks: 1 }, [1, 2, 3]],
  'llama3-hot-fp16-scale': [() => TINY('llama3-hot'), { chunks: 1, fp16Scale: 'auto' }],
  'smollm2-gguf': [smollm2Gguf, { chunks: 'auto', context: 64, batch: 16 }],
}

/** Relative path → sha256 of every file a conversion wrote (the resume record aside). */
function hashes(dir: string, model: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n
      if (n === '.anemll-convert.json') continue
      if (statSync(join(dir, r)).isDirectory()) walk(r)
      else {
        let bytes = readFileSync(join(dir, r))
        // meta.yaml records the source and output paths, which differ per machine and run.
        if (n === 'meta.yaml')
          bytes = Buffer.from(
            bytes.toString('utf8').replaceAll(dir, '<output>').replaceAll(model, '<model>'),
          )
        out[r] = createHash('sha256').update(bytes).digest('hex')
      }
    }
  }
  walk('')
  return out
}

for (const [name, [model, extra, steps]] of Object.entries(CASES)) {
  const path = model()
  test(
    `${name}: every output file has the bytes 7fe35b7 wrote`,
    { skip: noFixture(path) },
    async () => {
      const out = join(tmp, name)
      const lut = extra.lut1 || extra.lut2 || extra.lut3
      const o = convertOptions(path!, out, { context: 32, batch: 8, compile: 'never', ...extra })
      for (const only of steps ?? [undefined])
        await convert({ ...o, only }, { step: () => {} }, lut ? palettizer(0) : undefined)
      const got = hashes(out, path!)
      if (process.env.ANEMLL_PRINT_HASHES) console.log(JSON.stringify({ [name]: got }))
      assert.deepEqual(got, EXPECTED[name], `${name}: output bytes changed`)
    },
  )
}

const EXPECTED: Record<string, Record<string, string>> = {
  'stories-fp16': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'generation_config.json': 'bdedaf899cf05998d13f482972877666677a2d8f860aacb68b70fa959447150b',
    'llama_FFN_PF_chunk_01of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'a078b73fb42bb1a8f43eb426119cefb2f919de9887e6d829efe3db51fdfa44e2',
    'llama_FFN_PF_chunk_01of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '5b82c1558508c68a45d15bce19206af56e751838be5b06b060b6033f1a806de9',
    'llama_FFN_PF_chunk_01of02.mlpackage/Manifest.json':
      '979e6227b5f59b1aaee2f57bdd10099646417bcf90dfc382a524c4d306489639',
    'llama_FFN_PF_chunk_02of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '1dd51db7170a1fa20eb78f3d6cedbc4b71c8a7f3331092eaf5f721bdb2af0faf',
    'llama_FFN_PF_chunk_02of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '9e04e5c9ef617e37d58429946e5001d4ab8439caf80546a7d9fa6a9023386348',
    'llama_FFN_PF_chunk_02of02.mlpackage/Manifest.json':
      '391cdf65a85cae655778f6a3fb12060bdfbc5c5bb21f13ab0a788473dea1c130',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '075e4a4aa5928f640ffd83351e9cb8de14d27cde00a957e6083500d46d0ac416',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'f54b874019939afa6e03d3914a8dbd5e7c66474ff848ace50970e6671ab264b1',
    'llama_embeddings.mlpackage/Manifest.json':
      '864faea9aac27a17f0d23622ce45311531a7a589345f1fec3115553ff0c442f6',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'd857a8bbe8fec2c3d68901beefe364ec3dd4b3e60574e709a6546ac0582fd0c3',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'b585ef02d43d5ee65970cdc20c3e8c4618af90641f6624d53512bb5aa648163f',
    'llama_lm_head.mlpackage/Manifest.json':
      'b889f5590d3f3e2c44ec877d7bfd436eebc6d1d57a7c6913951213ed88758c7b',
    'meta.yaml': '2714fe3299c2903aa8f93e214e8bb932c4d6f1d590f5e8d59fccbee454e7ac28',
    'special_tokens_map.json': '96bdbb8504d9967606e5f661ccc7cbbac44a3661af863a7a58614670a0ccab33',
    'tokenizer.json': '7f964ac7531f7f8ff4ecd9cc962bb09b778361b08c1f27699ee0c1d49bdb5431',
    'tokenizer.model': 'dfff07d929db979913f166ec94a6f5ecad4c70cfed8eb5c9cbe7e464455e46f5',
    'tokenizer_config.json': '39c10fe6a9f303cf8e095f01d01858a16d2de30d5d3efd9a0a3ebb619ed74aef',
  },
  'stories-lut': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'generation_config.json': 'bdedaf899cf05998d13f482972877666677a2d8f860aacb68b70fa959447150b',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '1b33b9e3175768454153b98422f40ee88f278875ec9ff23371db11bf2c2c4a0b',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'ea001581f9501909d1b76f097cc5dc712ee37ba117c6975c1bc04ea8143c507a',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Manifest.json':
      '26499c32db5766134f068b161c4e24b0c6a229aac6932e95df660ca7b19bc73b',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'cefa8f7ab3099d7d020a601de927fb36a8f5f744d0b53552f70621e1223307f1',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd03f7b5bb590c66e1829c2ed4969a8bac31ec2941db5990ca64078921d1133b6',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Manifest.json':
      '55c21ebfd3a435892a038454730926fe5eab6414a8c28c1c6a12c7b2750562a4',
    'llama_embeddings_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'cfe78660c51db053d5c38b4dd30c8b31ee0e45add19610a1d89eec10eabe4e95',
    'llama_embeddings_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '8cf058b39fd750521a9857c1147e3e2603bac8a862195b3a7d455655bd550975',
    'llama_embeddings_lut6.mlpackage/Manifest.json':
      '522bca3da4a8a0cf1ec9e4bbabba57b7451fa3670e0c237f1dc6f8f374491956',
    'llama_lm_head_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '2f5d41ad7fe0ff8062e6fb9293cf72434bfc46d2654ff5693c21b27fc4ae8500',
    'llama_lm_head_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '70e50e37ad4f3026dcc74964f11134aa9694fc48462555b3303f7fe5d0ff1963',
    'llama_lm_head_lut6.mlpackage/Manifest.json':
      '05675bcbb64f8d0d9f5cebb48e4c86c8d4c7fbfee6fb8822dc7b90bce2a1ea3e',
    'meta.yaml': 'c8def1dfb936b5dd6e555eca13be44f96356975eee1bb7c10da3831f14e81203',
    'special_tokens_map.json': '96bdbb8504d9967606e5f661ccc7cbbac44a3661af863a7a58614670a0ccab33',
    'tokenizer.json': '7f964ac7531f7f8ff4ecd9cc962bb09b778361b08c1f27699ee0c1d49bdb5431',
    'tokenizer.model': 'dfff07d929db979913f166ec94a6f5ecad4c70cfed8eb5c9cbe7e464455e46f5',
    'tokenizer_config.json': '39c10fe6a9f303cf8e095f01d01858a16d2de30d5d3efd9a0a3ebb619ed74aef',
  },
  'llama3-fp16': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '17e6eb6ebb15ed15ab42531c4c9f36325c5cc4cc8625ea0e732257abefb67936',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '83101a5cd5dc0f4467a2242cd172a813a799fc94804f0c54a37a08c046d9bdd9',
    'llama_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      'ab7a0c6cfc912d38e8de553049279345e02c062e80f2e711531a2685227e7653',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '8020d110a27378891c1cf97c67ff43f7c0a854315bc255c3dd201e225104f507',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'b54d299e074689b886dbf9aa475919fd9f498e849ec048280990c7752f7a3486',
    'llama_embeddings.mlpackage/Manifest.json':
      '5c125a092ddd62993889f352ca50dddc0d5aad8dace4407a169d8955a5eda9fe',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '449aae6e7df98896fdb3cd53404cc3612ff487930b0ee6d6614f2bc16bc5d917',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '10538b07eba5e560c2a579ac82a74655a8d23281aa2b853b49a7f299736f2b16',
    'llama_lm_head.mlpackage/Manifest.json':
      'f9c860c59aa4c2ceaf37d639a1d9f3ce4187e2e7eb571d1ccd2f5f3225330496',
    'meta.yaml': '5e0c97164b26706ba7fb80c6f1b0d1523df93838f625ea4861fff8ee46009cef',
  },
  'llama3-lut-argmax': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '9d299d8e80c59e3e2f0a5f1778796125ea560d3baa9c5f95fca2dd9e821129c9',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '3a77f8cb680ae01467b88733a65b8109ed20e4ff30172c86e65848272109cbc8',
    'llama_FFN_PF_lut4_chunk_01of02.mlpackage/Manifest.json':
      'd55e259f29d447dae3542e57a36457f75228589b9449ed605718b284782d0bdd',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '2125dda774404815a5426b801e4997ba20e69c1fd988d7407305e5c11ea2e30b',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'aab6ca68dc926fc0d9244ee41d3631ae9f181f1b5c19c4f8f2e7e0a384c3ca51',
    'llama_FFN_PF_lut4_chunk_02of02.mlpackage/Manifest.json':
      '055855ca99d82c0da0077c968a678766c4b31d81bb13aa6b96e2270e334ccdcb',
    'llama_embeddings_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '274de36ff093887db8108cb9f98587379c5925fde0eb678076f14c0f15bde8d5',
    'llama_embeddings_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '8b7b407b1020690dfc79352eff3053c0af57fbd64ebc2f56a81cd6031ddf19f3',
    'llama_embeddings_lut6.mlpackage/Manifest.json':
      '41a38a2d0a9e67753f6cf62a86abf2c6f0ba09a8ba7c5c5fea657ffaa07a2b45',
    'llama_lm_head_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '382fe72e5b4f3a2f72918ec0965079d1c143984be6923df995a5f0dea1b3ace5',
    'llama_lm_head_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '10538b07eba5e560c2a579ac82a74655a8d23281aa2b853b49a7f299736f2b16',
    'llama_lm_head_lut6.mlpackage/Manifest.json':
      '8b6060d291165b09d69b7cb398af3f6667f1768cbda188cfbe6841e990bf21bd',
    'meta.yaml': '9b1faea63ce8966ec7b7426dae5cc8aef407128ddae8f33498fcc8c761084b79',
  },
  'qwen3-fp16': {
    'config.json': '7df9a7c381f30a64167128eadb3a93e57d958a8545f218d857e75d0a0e7672c1',
    'meta.yaml': '359733516f1556222fb5db4943bd9027f70433989e615c62a7162f3d675ebf80',
    'qwen_FFN_PF_chunk_01of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'f7c01a3c649c6b0d7d6693d3debe0d31ccd80a3fbfb4d61a0e0a34f606b88d59',
    'qwen_FFN_PF_chunk_01of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd76bf127a43fd3eb000e37000383bbbd83485d82b2f0071faa8199700244fec8',
    'qwen_FFN_PF_chunk_01of02.mlpackage/Manifest.json':
      '7c648722d8241409b2b28f50abeb75368f261e111875ae50a8483d6e968b9ed4',
    'qwen_FFN_PF_chunk_02of02.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '9168f1e9089f63a17c95912f3702b8b2676b9bcf7e750d41e303e9e04b30de8e',
    'qwen_FFN_PF_chunk_02of02.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '7a1179f2f0ceee24fd890d1313af69719bc9153f61814e211dfbb916e51bd2f1',
    'qwen_FFN_PF_chunk_02of02.mlpackage/Manifest.json':
      '1257b25f9d4d329c274c8f0163c40491032a8d9ddb4cfaf7a74486b627d2951b',
    'qwen_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '8020d110a27378891c1cf97c67ff43f7c0a854315bc255c3dd201e225104f507',
    'qwen_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '992ca7ebaf2162898f3ca4ca9b724e8dfcae15e7cb6c66cb28c53500398d9caf',
    'qwen_embeddings.mlpackage/Manifest.json':
      '5c125a092ddd62993889f352ca50dddc0d5aad8dace4407a169d8955a5eda9fe',
    'qwen_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '10dd82fdfabf2b1924b994ebf42a19c764b09e40b926ef509667d281182b1e34',
    'qwen_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '1bdbbfc32ba60b3c82ad1e4a210ba2118cd2937ade3be7e4571795205087f04b',
    'qwen_lm_head.mlpackage/Manifest.json':
      '55fa76bed86c9e30144995253729b87bb097be13c6bdd47b8b3d0754dd1c536e',
  },
  'qwen3-lut': {
    'config.json': '7df9a7c381f30a64167128eadb3a93e57d958a8545f218d857e75d0a0e7672c1',
    'meta.yaml': 'fc6418e1cc858ffc4162b106d120291d2bddaf35cf6e84f80187f642377a6c7f',
    'qwen_FFN_PF_lut4_chunk_01of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'baca2a2f535140e3c1afc69c0a4ee32a14272b5be498131f65a44f6250c9adc2',
    'qwen_FFN_PF_lut4_chunk_01of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '628407916b6b0b95c6ee63a9a90c30e5701eb6ffa0ba7864680d39fdfdaaba1c',
    'qwen_FFN_PF_lut4_chunk_01of03.mlpackage/Manifest.json':
      'c7e4a23c9e85e19090fe5eae2856d5e52ac47c234a2ae49b2beef768558b708d',
    'qwen_FFN_PF_lut4_chunk_02of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '1c9918b00bd2679f7b3908a54b7d2d0bc3822abf59c013635cba05dfa6581401',
    'qwen_FFN_PF_lut4_chunk_02of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '404b6543e93b45935ba685bac4f5b4155d2666668ee9202f78ab455227a47d81',
    'qwen_FFN_PF_lut4_chunk_02of03.mlpackage/Manifest.json':
      'f219fbd7be000371382cef896c8194fdb702fc1f669e3abe0bf67755ebdbc5cf',
    'qwen_FFN_PF_lut4_chunk_03of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '9397a727f92349e4d47ccee897b70175bcbb8faa561879d9d83e2c8686841a9f',
    'qwen_FFN_PF_lut4_chunk_03of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '2fc35d04d542ae1a0d1d2fda6424072e4f357df7014c052568409626b63f3f76',
    'qwen_FFN_PF_lut4_chunk_03of03.mlpackage/Manifest.json':
      'b51dc9ff9e73b2ae8158fc967e18c417776f4ae481306bd9059ef92e5e6a2fd4',
    'qwen_embeddings_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '274de36ff093887db8108cb9f98587379c5925fde0eb678076f14c0f15bde8d5',
    'qwen_embeddings_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '0922d7995513395737b0d901dc1728f9253a15e8225d7645822dd9e0d0951755',
    'qwen_embeddings_lut6.mlpackage/Manifest.json':
      '41a38a2d0a9e67753f6cf62a86abf2c6f0ba09a8ba7c5c5fea657ffaa07a2b45',
    'qwen_lm_head_lut6.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '8f39e41d3c98c9edc55e5a1479e039951646e705b0854475e21c6c9773884db4',
    'qwen_lm_head_lut6.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '1bdbbfc32ba60b3c82ad1e4a210ba2118cd2937ade3be7e4571795205087f04b',
    'qwen_lm_head_lut6.mlpackage/Manifest.json':
      '690dc12cacac5bb73c476b4cefdd36bf78599471f64bb960e1c85979d55716c8',
  },
  'qwen2-fp16': {
    'config.json': 'a29d141558be0c00ff97664a834a873e79bc6ca0a5634ac88c6b69929586097c',
    'meta.yaml': '5a1d9ecbb881169bc317ff827d6daafde2739dec2f3b2cdd499f98e3933e7c85',
    'qwen25_FFN_PF_chunk_01of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'b8a5fbf99f8ed97fbfd44782effae44d0f8056925cb923805db477ec21ad7e6a',
    'qwen25_FFN_PF_chunk_01of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'e07d9e1c042598d136b5fe4cb27dc07d67bb254a06ea6606b3c492e94432d73b',
    'qwen25_FFN_PF_chunk_01of03.mlpackage/Manifest.json':
      '0119dcdf4873b2b099c9ee7fd75ce990e58f741562244bcbab71d87ee11c3799',
    'qwen25_FFN_PF_chunk_02of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'ebb6086f4095fc84db4ae180c3ffef77a39b79076c21977edd1cf541979bb760',
    'qwen25_FFN_PF_chunk_02of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '34bd1d13a966d6286a60da0c023a9d1e1b84de78b653c11d023a66292b329ad3',
    'qwen25_FFN_PF_chunk_02of03.mlpackage/Manifest.json':
      'f3efae2e40fc02c143bc4d519252980acbd1c2d2d23066b35b1ed8e6d54400fc',
    'qwen25_FFN_PF_chunk_03of03.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '615011906cacdcafa3a3270e9a352f2499bafb0e9a9bf95d27c92ff80f2ba98d',
    'qwen25_FFN_PF_chunk_03of03.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'a51b83a4585fed3345e25a290efb8dac23978cc785b10b7a05a363a3134f2d6e',
    'qwen25_FFN_PF_chunk_03of03.mlpackage/Manifest.json':
      '54aeba00a62d4782df9b43d2875be0e293c5b8fefdd64a5e4aabface70671c9a',
    'qwen25_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '8020d110a27378891c1cf97c67ff43f7c0a854315bc255c3dd201e225104f507',
    'qwen25_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '5c258b276a365623747e5845595f662cddd5151a77e8e8330f1cea5beb68f00b',
    'qwen25_embeddings.mlpackage/Manifest.json':
      '5c125a092ddd62993889f352ca50dddc0d5aad8dace4407a169d8955a5eda9fe',
    'qwen25_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '10dd82fdfabf2b1924b994ebf42a19c764b09e40b926ef509667d281182b1e34',
    'qwen25_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'c6f0314d3b366e2dba9cd56ffa65a02cd5e942724dd46eb24b2441c615c59c99',
    'qwen25_lm_head.mlpackage/Manifest.json':
      '55fa76bed86c9e30144995253729b87bb097be13c6bdd47b8b3d0754dd1c536e',
  },
  'qwen2-monolithic-lut': {
    'config.json': 'a29d141558be0c00ff97664a834a873e79bc6ca0a5634ac88c6b69929586097c',
    'meta.yaml': 'db3b73757c17854584b56d77ac0ecd3ac9e3ca26c1e8d26dce7802e96317f709',
    'qwen25_monolithic_full_lut4.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '05fbe9dbfd41c2e73d1bd2080bf465e8f16d3a83f7ce7b93560245339501f2d7',
    'qwen25_monolithic_full_lut4.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '47d9be779afddd5af6ccc77557e4550a344e2df7a11fbdc08f20afa4df709605',
    'qwen25_monolithic_full_lut4.mlpackage/Manifest.json':
      'd1eb2c7a4aab20b49202fe39a9f5d4747f1a62da6c469da56eee089195edd6b5',
  },
  'qwen2-gguf': {
    'qwen25_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '33ec32306155b2d0f921640846cb0916cfb707b366bf4dc59bef2b61d968d06e',
    'qwen25_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd267de854eff02e43c88af6af1b2234fd2c587d7087422de38d22d96ffe2d357',
    'qwen25_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      '4a5f76147bd9a83bb95988ee3401293a8bd79d20f9500c5a58c2bf2abbc47392',
    'qwen25_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '24d5771d9a7ae4f4d2cec5b4273d310bfea2d59c1651db715775d4f19b9afb31',
    'qwen25_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd66bacfcda6d3003f4d7b5110c780e09482a3cddc719d1acb17dfc911f50917c',
    'qwen25_embeddings.mlpackage/Manifest.json':
      'af55971bcf5993ddd010d63fe711894eb9b9afb8f4b9ebe980c9cf8bde87a101',
    'qwen25_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'f05bec8de3f76f3501d711ac1b6b818dc203141ce73ce49ae7693eef3f098b0f',
    'qwen25_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '91e646279198b357c0fa6ba03c213ca274114691079f4b0ed163c3673e8ad39b',
    'qwen25_lm_head.mlpackage/Manifest.json':
      'd805e8bf4fe7ae92a4299b431b08cab3c7f4af78ff663a6445c456112e29423c',
  },
  'qwen3-gguf': {
    'qwen_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '0985da31718ad97f9ce72d3ac8661b3fc025c1f330b773996294ad52094eb9e0',
    'qwen_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '168b7b6fdad48bf0e6891bbf492cf214c8b790cf980bc470258c0072042847b8',
    'qwen_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      '48b25cd9481216048a3df52e04c4de477d9826ca663f2f7084cc7e45b1b77a18',
    'qwen_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '24d5771d9a7ae4f4d2cec5b4273d310bfea2d59c1651db715775d4f19b9afb31',
    'qwen_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '59440436aaaeb5ac7dcb388d11c123bf9943a98927d557ec0194c18627a247c6',
    'qwen_embeddings.mlpackage/Manifest.json':
      'af55971bcf5993ddd010d63fe711894eb9b9afb8f4b9ebe980c9cf8bde87a101',
    'qwen_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'f05bec8de3f76f3501d711ac1b6b818dc203141ce73ce49ae7693eef3f098b0f',
    'qwen_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd99f44bcb0e540e7dae5279b2bbbd46eca091a771cdb2b62e6bc60909bb740d3',
    'qwen_lm_head.mlpackage/Manifest.json':
      'd805e8bf4fe7ae92a4299b431b08cab3c7f4af78ff663a6445c456112e29423c',
  },

  'llama31-gguf': {
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'ad66c34eefe6505480d41424c19d27eefc4167867d28f7352cff9d8f4a099a12',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '09f4e975cd53154d344a48af4a7eb9794048089b3e12ca81c47a67db7708dba6',
    'llama_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      '1c20e0ec3b72b16b42c26d7f5ee523a2bb4045dd0e72ee45f11cd7dfb818da6f',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'b80b8d4abcc29274d0560714a0815559d24d4683bc8fff6dafcd2fbf02fac08e',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '6a7158c232f01b888f823a022462d7f6dda56f3f55fbc7cde9e9550e8965a807',
    'llama_embeddings.mlpackage/Manifest.json':
      'd416f13b86e3bab8a86923b63fe71c128fc0a01e9da6a8f664d7ea4a6f92830e',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '2de325612f589b0090a39aba392dddf41e56c688b48e3a9b46bfe30b179afdc9',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '239bbbb6ec67dbc4aadc80a25cb60125c90e1b49bcabf656a851ff88c5fd5024',
    'llama_lm_head.mlpackage/Manifest.json':
      'f333b85bbf71144e00d57767f8947b5286d73a4485f9eb661a8aaccc683edc40',
  },
  'llama3-hot-fp16-scale': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '17e6eb6ebb15ed15ab42531c4c9f36325c5cc4cc8625ea0e732257abefb67936',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '36c252497a094c1cf2bff4de52837e8ff511e70f4c7f467c4d576e5024d43087',
    'llama_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      'ab7a0c6cfc912d38e8de553049279345e02c062e80f2e711531a2685227e7653',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '8020d110a27378891c1cf97c67ff43f7c0a854315bc255c3dd201e225104f507',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'd3d0769c0d8a362787a102a63700345be5301ba338e5daaec2bf2ee3edb94fc9',
    'llama_embeddings.mlpackage/Manifest.json':
      '5c125a092ddd62993889f352ca50dddc0d5aad8dace4407a169d8955a5eda9fe',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '449aae6e7df98896fdb3cd53404cc3612ff487930b0ee6d6614f2bc16bc5d917',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      '10538b07eba5e560c2a579ac82a74655a8d23281aa2b853b49a7f299736f2b16',
    'llama_lm_head.mlpackage/Manifest.json':
      'f9c860c59aa4c2ceaf37d639a1d9f3ce4187e2e7eb571d1ccd2f5f3225330496',
    'meta.yaml': 'a0b6472b61f923a06c976fcd80a8198f2ce4708af8ad5f85003693e48540b2aa',
  },
  'smollm2-gguf': {
    'config.json': 'f70bfdb0bbd5676dcdfb695092dd072cd1dadde7b9e14c3b491e1f03c172d63f',
    'generation_config.json': '16bdc726cbf316e05e7d25a98d3e7f72c05661e43b255f200a64c68bda28f519',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'eecc3487cdfab3f5e38f43c77fa4b0dd74d61e41acdfb532defada4b2b879512',
    'llama_FFN_PF_chunk_01of01.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'e14db8f999283cf07a743dc5d53b90002999d3a4ced8d74e2869384d4286518e',
    'llama_FFN_PF_chunk_01of01.mlpackage/Manifest.json':
      '172b0da73234b7ce90b41a6a177afc19a42262b218e0cceec8043c65be6c9953',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      'b0204942474acf23237ff188cf4dcb71a6916eb1aa6067319cfddb373b820784',
    'llama_embeddings.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'bf7765f75a0ae9af278b235a894ef864d7cecd352b632e134633e6a6e963f8b1',
    'llama_embeddings.mlpackage/Manifest.json':
      'd2efeab8fdcad88d055a3f17f5f677cf1c4964a78201192f0032205cf3fd5d43',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/model.mlmodel':
      '7fb9fd9be8474dc0b50384286d7b3704dce350c30f39b6560b90bad154596060',
    'llama_lm_head.mlpackage/Data/com.apple.CoreML/weights/weight.bin':
      'f5725e7589d6f6761722642d6030e4eb17cf2ccac5bf665a2e5d1ead7cd1f920',
    'llama_lm_head.mlpackage/Manifest.json':
      '8e7249aa99fd4c08efbd7993e606428f150415d91e4b3036d75bcc46f9a232c7',
    'meta.yaml': 'fd36a16ad0b6fbe0d5b659a57409b9bdb861d6cc04258952042edb37b139cc3d',
    'tokenizer.json': '418848604db69a9f130ea1d2d657bb62b7fd3e2e35801257bd57c84505d550ee',
    'tokenizer_config.json': 'b2d64f57b605a0d25d63424b4dc30ccec2ac1fae0c7fefc351a59056bc6da2af',
  },
}
