// SmolLM2-135M vs llama.cpp and transformers on the 5 golden prompts (see smollm2.ts).
import { smollm2Tests } from './smollm2.js'

smollm2Tests([0, 1, 2, 3, 4])
