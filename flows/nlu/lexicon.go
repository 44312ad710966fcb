package nlu

import (
	"strings"
	"unicode/utf8"
)

// The lexicons below were written for Parley (no third-party lexicon is
// copied). Words are given in ordinary forms; NewScorer normalises and stems
// them, so one entry covers a word's inflections ("ужасный", "ужасно",
// "ужаснейший"). Values follow VADER's scale: about -4 (worst) to +4.

var ruLexicon = map[float64]string{
	-3.5: `ужасный ужасно ужас кошмар кошмарный отвратительный отвратительно мерзкий мерзко
		омерзительный гадкий гадость отстой отстойный позор позорный позорище безобразие
		возмутительно возмутительный издевательство беспредел бардак хамство хамский хам
		хамка хамло мошенник мошенники мошенничество жулики жульничество обман обманщики
		обманули воры ворюги грабеж грабители разводилово развод лохотрон ненавижу ненависть
		худший наихудший говно`,
	-2.5: `плохой плохо хуже паршивый паршиво хреновый хреново фиговый фигово дурацкий
		бездарный бездарно бездарность халтура халтурно дичь треш трэш облажался облажались
		гнусный подлый подлость предатель предательство лицемер лицемерие ничтожество ничтожный
		жалкий убожество уродский гадский сраный херня унижение унизили оскорбление оскорбили
		оскорбляют отвращение отчаяние безнадежно безнадега безысходность стыдно
		скандал коррупция взятка взятки обстрел погибших погибшие убийство убийства траур похороны
		фуфло долбаный долбаные нагрубил нагрубила нагрубили грубил грубила подделка подделку подделки фальшивка требую
		бесит бесят бесить раздражает раздражение злой злость зло злюсь злит достали достал
		задолбали задолбал надоели надоело надоел разочарован разочарование разочаровали
		разочаровал недоволен недовольна недовольны недовольство жалоба жалобу жаловаться
		обидно обида возмущен возмущена возмущение бесполезный
		бесполезно некомпетентный некомпетентность безответственный халатность тупой
		тупые тупость идиот идиоты идиотизм дебил дебилы кретин придурок придурки урод уроды
		дно отвратно убогий убого кидалово кинули кидают наглость наглые нагло
		неприемлемо недопустимо абсурд бред ахтунг фу ад адский лентяи бездельники
		падла сволочи сволочь твари тварь гады гад скоты быдло уроды ублюдки негодяи подонки
		грабят ограбили обокрали украли кража воровство хищение обдираловка обдирают
		навязали навязывают впарили нагрели развели дерут вымогательство вымогают угрожают
		угрозы хамят хамит нахамили грубят грубо грубый нахал хамоватый бесстыжие бессовестные
		обманывают врут вранье лгут ложь лжецы вруны брехня бесят позорники ужасающий
		кошмарно чудовищный жуткий жуть отстойно дерьмовый дерьмово хреново паршиво
		ненавистный проклятый проклятие убили убивают взрыв теракт террористы нападение
		смерть умер погиб погибли трагедия катастрофа ненавидеть ненавидят ненавидит
		ненавидела сдохнуть сдохни сдох сдохла помереть умереть умру умираю мразь мрази гнида
		тошнит тошно противно мерзость позорище жесть жестоко пипец капец трындец звездец
		несправедливо несчастный несчастье депрессия одиноко одиночество рыдаю плакать плачу
		больно боль разозлил разозлило разозлила злюсь злилась злость ярость бешенство
		бешусь взбесило сдохну тупая тупой тупые тупо чертов чертовы хватит позорно`,
	-1.8: `глюк глючит глючный
		неудобно неудобный медленно медленный долго задержка
		задержали опоздание опоздали сломан сломался сломалось поломка
		неправильно неверно потеряли потерян пропал пропали исчезли
		виснет тормозит тормоза недоступен неисправность дефект
		грустно печально жаль жалко сожалению страшно тревога беда
		устал устала слезы скучно тоска неприятно неприятный трудно тяжело
		зависает зависло вылетает вылетело глючит сбоит недозвониться
		ругаться ругался поругался орут кричат нервы нервный нервничаю испортил испортили
		испорчен пропала сгорел сгорела опоздал опоздала
		разочарована расстроен расстроена расстроило огорчен огорчило обидели неудачный
		неудача мучаюсь мучают мучение замучили достало наказали наказывают угробили
		урезали срезали понизили хуже худшее невнятно непонятно
		непрофессионально неадекватный неадекват подозрительно сомнительный
		разбито разбит разбита разбилось разбились мятая мятый помята помятая помятый
		бракованный бракованная днище шок шоке пропажа лажа косяк косяки накосячили фигня ерунда чушь отвратный зря
		тупит тупят лох лохи кидалы шарашкина бюрократия волокита соболезную соболезнования
		грусть грустный печаль печальный одинок болит болею заболел заболела заболеть болезнь
		обидно обиделась страдаю страдать
		очередь очереди очередей сожалею провал провалился опасно убыток санкции санкционный отключили отключил отключена
		отключение перебои перебой приостановил приостановили прекратил прекратили подорожали
		подорожает подорожание запрещено запретили невозможно невозможность ограничили убытки потерял потеряла коллекторы подорожание
		спам спамер спамеры спамят незаконно незаконный нарушение нарушают банкрот банкротство кризис
		пострадают пострадали пострадал пострадала оштрафовала оштрафовали оштрафовал неполадки
		затупил затупили глушняк скучный занудный нудный банальный посредственный посредственно
		слабенький тягомотина муть криво кривой недоработка недоработали грущу скучаю скучала
		невезение облом обломался тщетно увы горько авария пожар жертвы ранены
		инфляция арест арестован арестовали обвиняют обвинили обвинение неприятность
		неприятности тоскливо уныло уныние хандра усталость вымотался вымоталась замучился
		замучилась бессонница мучительно невыносимо тяжко некрасиво уродливый проигрыш проиграл
		проиграли виноват виновата травма простуда паника истерика расстались расставание
		страшный опасный`,
	-0.8: `падает упала упал упало проблема проблемы проблем проблемный ошибка ошибки сбой сбои штраф штрафы списали списание заблокировали блокировка блокируют отменили отменен отменить
		брак отказ отказали отказывают отказались сожалению комиссия претензия закрыли заблокирован
		сложно ждать жду ждем ожидание долго блин черт лень weird
		`,
	2.0: `хороший хорошо нормально неплохо приятно приятный удобно удобный быстро быстрый
		спасибо благодарю благодарна благодарен благодарность рад рада рады радует
		нравится понравилось люблю любимый полезно полезный помогли помог помогла выручили
		вежливый вежливо доволен довольна довольны удачно удачный успех успешно надежный
		надежно рекомендую советую классный клевый круто крутой здорово выгодно
		выгодный бесплатно бонус бонусы подарок кешбэк поздравляю поздравляем
		порадовал радость улыбка мило милый
		оперативно профессионально грамотно четко комфортно уютно
		любимый лайк поддержка поддержали вкусно красиво красивый спасибочки благодарим
		вовремя классно спс пасиб пасибо спасибки`,
	3.0: `отлично отличный прекрасно прекрасный замечательно замечательный великолепно
		великолепный превосходно превосходный шикарно шикарный супер восхитительно
		восторг восхищен обожаю лучший наилучший идеально идеальный чудесно чудесный
		молодцы молодец браво спасибище огромное счастлив счастье поблагодарить поблагодарю
		класс`,
}

var enLexicon = map[float64]string{
	-3.5: `terrible horrible awful worst disgusting disgusted hate hated hateful pathetic
		outrageous appalling atrocious abysmal dreadful scam scammer scammers fraud fraudulent
		thief thieves robbery liar liars lying lied useless garbage trash rubbish nightmare
		unacceptable incompetent incompetence despise disgrace disgraceful horrendous
		racist racism loser losers idiotic killed murder murdered terrorist terrorism dead death
		died evil cruel vile nasty toxic shameless`,
	-2.5: `bad poor poorly sucks suck sucked annoying annoyed angry anger furious mad
		ridiculous stupid idiot idiots dumb moron lousy crappy shitty broken fail failed
		failing failure disappointed disappointing disappointment frustrated frustrating
		frustration upset rude ripoff ugly sick worse mess messed screwed complaint complain
		complaining waste wasted wasting boring lame fake unhappy dissatisfied irritated
		irritating hopeless ignored ignoring shame shameful unreliable wrong hateful jealous
		bitter crazy insane violence violent attack attacked kill killing ugh
		ruined ruin destroy destroyed sadly depressed depressing depression miserable lonely
		hurts exhausted sucky suckers pissed cursed blame blamed stupidity nonsense ridiculous
		awkward worthless greedy corrupt corruption lies cheat cheated cheating threat threats
		mediocre pointless unbearable unwatchable unfunny insulting offensive offended ludicrous
		laughable absurd junk disaster disastrous tragic tragedy horrid shoddy sloppy inept
		clueless negligent unprofessional unhelpful heartbroken heartbreaking devastated
		devastating betrayed misleading deceptive overrated overpriced embarrassing ashamed
		selfish arrogant hypocrite hypocrisy jerk jerks fml creepy`,
	-1.8: `slow
		stuck
		sad sorry unfortunately worried
		worry concerned confused difficult tired afraid scared fear pain hurt cry
		crying mistake expensive unfair difficulty trouble damaged defective crash
		crashed crashes outage tired sick disease dying loss
		bored boring annoyance dislike disliked doubt unfortunate struggling struggle
		rejected reject scary horror terror bother bothered bothers bothering regret regrets
		regretting regretted desperate desperation die dies meh smh stinks stinking stinky
		bashing bashed destruction steal stealing stole stolen vandals vandalism incapable
		exaggerated funeral dissapointed disapointed dissapointing dull bland tedious
		tiresome cheesy clumsy flimsy lifeless forgettable incoherent amateurish stale weak badly
		lacking lacks lacked unpleasant uncomfortable inferior subpar unresponsive careless ignorant
		hostile stressful stressed anxious anxiety nervous gloomy grim bleak sorrow grief upsetting
		disturbing troubling shocking shocked horrified terrified frightening abandoned
		neglected grumpy cranky tears sobbing heartbreak headache embarrassed guilty lose losing
		crisis lazy`,

	-0.8: `problem problems issue issues error errors bug bugs glitch delay delayed charged overcharged penalty declined blocked cancelled canceled refused denied
		missing wait waiting fee fees cancel refund lost locked hard war fight fighting late
		`,
	2.0: `good nice thanks thank thankful grateful glad happy enjoy
		enjoyed polite friendly fast quick easy smooth convenient
		recommend reliable cool fun interesting yay welcome lucky
		resolved appreciate appreciated
		enjoying glad pleasure proud smile laugh funny cute sweet favorite favourite
		excited happy birthday yummy haha lol thx thanx`,
	3.0: `great excellent amazing awesome fantastic wonderful perfect love loved lovely
		brilliant outstanding superb best beautiful incredible delighted impressive
		impressed terrific fabulous marvelous happiest thrilled excited exciting congrats
		congratulations glorious`,
}

// complaintLexicon holds phrases that make a message a complaint even when
// each word alone is neutral, comma-separated per valence. A phrase may have
// one pronoun or particle inside ("верните мне деньги"). Three tiers:
// demands and threats; frustration (persistence, nobody answers, money
// taken); and plain failure reports, which alone stay just under the
// threshold in a question ("почему не приходит СМС?") so that the bot may
// still answer, and tip over with any other sign of upset.
var complaintLexicon = map[float64]string{
	-3.5: `верните деньги, верните мои деньги, верните средства, верни деньги, буду жаловаться,
		напишу жалобу, подам жалобу, оставлю жалобу, подам в суд, в суд, в роспотребнадзор,
		в прокуратуру, в цб, в центробанк, сколько можно, это беспредел, вы издеваетесь,
		издеваетесь, refund now, want my money back, give me my money back, money back now,
		demand a refund, file a complaint, filing a complaint, report you, sue you, never again,
		worst service, worst customer service, this is ridiculous, what a joke, is a joke,
		such a joke, are a joke, are you kidding`,
	-2.5: `не могу дозвониться, невозможно дозвониться, не дозвониться, не дозвонишься,
		до сих пор, опять не, снова не, опять, третий час, второй час, уже час, уже два часа,
		уснули, ни в какие ворота, третий день, второй день, уже год, все нет, все еще нет,
		все равно нет, still no, still nothing, где мои деньги, where is my money, third time, second time,
		once again, yet again, уже неделю, уже месяц, уже второй, уже третий, вторую неделю,
		третью неделю, которую неделю, уже две недели, уже три недели, for weeks, weeks now,
		недели жду, недель жду, месяц жду, месяца жду, дней жду, жду недели, жду месяц, жду месяца,
		waiting for weeks, waited for weeks, waiting for a month, never got, never came,
		never showed up, не тот товар, не тот размер, не то что заказывал, не то что заказывала,
		нормально вообще, вообще нормально, уже трижды, гори в аду, сошел с ума, сошли с ума,
		ухожу к, ухожу от вас, меняю оператора, меняю банк, черный список, теперь нельзя,
		больше нельзя, сайт лежит, лежит сайт, упала сеть, упал сайт, late again, always late, опять опоздал, опять опоздали,
		снова опоздал, wrong item, бросил посылку, бросили посылку, оставил у двери, оставили у двери, требую вернуть,
		который день, который раз, в который раз, никто не отвечает, никто не помогает,
		не решили, не помогли, не помогает, не вернули, не возвращают, не зачислили,
		списали деньги, сняли деньги, списали дважды, дважды списали, без спроса, без предупреждения, отмените подписку,
		still waiting, still not, never received, never arrived, nobody answers, no one answers,
		no response, no reply, charged twice, double charged, without permission, no one helps,
		waste of time, waste of money, sick of, tired of, fed up, cant stand, pissed off,
		shut up, go to hell, screw you, how dare you, какого черта, какого хрена, идите вы, надоело, достало, сил нет, сил больше нет, не устраивает,
		не устроило, так и не, ничего не изменилось, ничего не поменялось, ситуация не изменилась,
		воз и ныне там, не дождешься, не дождался, не дождалась, никакой реакции, ноль реакции,
		никто не перезвонил, повысили тарифы, повысил тарифы, повышает тарифы, повышение тарифов,
		подняли тарифы, подняли цены, повысили цены, повышение цен, raised prices, price hike`,
	// Dislike: negative alone, not in a question about a return ("ему не
	// понравились, можно вернуть?").
	-1.4: `dont like, do not like, didnt like, did not like, не нравится, не понравилось,
		не понравились, не понравился, не понравилась`,
	-1.0: `не работает, не работают, не работал, не работало, не приходит, не пришло, не пришел,
		не пришла, не приходят, не отвечает, не отвечают, не отвечаете, не ловит, нет связи,
		нет сети, нет интернета, не обслуживают, не подключается, не подключили, не принимает,
		не принимают, не проходит, не проходят, не грузит, не грузится, не загружается,
		не открывается, не показывает, не получается, не получил, не получила, не могу получить,
		не могу оплатить, не могу войти, не могу зайти, не доступен, не дает, не дают,
		не звонит, не перезвонили, не перезванивают, связи нет, сети нет, интернета нет, нет ответа,
		без ответа, doesnt work, does not work, not working, stopped working, didnt work,
		doesnt load, wont load, not loading, cant connect, no signal, no service,
		not responding, cant access, cant log in, cant login, didnt receive, did not receive,
		havent received, not received, didnt arrive, hasnt arrived`,
}

// politeAfterNegation: words after "не"/"not" that make no complaint
// ("не могли бы вы", "не подскажете", "no problem", "not sure").
var politeAfterNegation = `могли могли бы подскажете подскажите знаете знаю уверен уверена
	сложно трудно важно забудьте забывайте волнуйтесь переживайте стоит только совсем очень так
	sure problem worries matter only just yet really very too`

// negators flip the valence of a word up to three words later.
var negators = setOf(`не нет ни без нельзя никогда никак ничуть вовсе отнюдь
	not no never none nothing nobody neither nor without hardly dont doesnt didnt isnt
	wasnt arent werent cant cannot couldnt wont wouldnt shouldnt havent hasnt hadnt aint`)

// contrastWords: after "но"/"but" the second clause carries the tone.
var contrastWords = setOf(`но однако зато but however although though`)

// intensifiers multiply the next word's valence; values under 1 soften.
var intensifiers = map[string]float64{
	"очень": 1.5, "крайне": 1.6, "совсем": 1.4, "абсолютно": 1.6, "совершенно": 1.5,
	"слишком": 1.4, "настолько": 1.4, "так": 1.3, "такой": 1.3, "такая": 1.3, "такое": 1.3,
	"самый": 1.4, "самая": 1.4, "самое": 1.4, "полностью": 1.4, "дико": 1.6, "жутко": 1.6,
	"невероятно": 1.6, "ужасно": 1.5, "сильно": 1.3, "реально": 1.3, "просто": 1.2,
	"немного": 0.6, "чуть": 0.6, "слегка": 0.6, "немножко": 0.6, "довольно": 0.9,
	"very": 1.5, "really": 1.4, "so": 1.3, "extremely": 1.7, "totally": 1.5, "absolutely": 1.6,
	"completely": 1.5, "too": 1.3, "super": 1.4, "incredibly": 1.6, "utterly": 1.7,
	"such": 1.3, "most": 1.3, "truly": 1.4, "seriously": 1.4, "fucking": 1.6,
	"slightly": 0.6, "somewhat": 0.7, "barely": 0.6, "little": 0.7, "bit": 0.7, "kinda": 0.7,
}

var negEmoticons = []string{":(", ":-(", ":'(", ":-/", "-_-", "😡", "🤬", "😠", "😤", "👎", "😞", "😢", "😭",
	"💩", "😒", "🙄", "😩", "😫", "☹", "🙁", "😔", "😕"}
var posEmoticons = []string{":)", ":-)", ":D", "😊", "😀", "😁", "😃", "😄", "😍", "🥰", "❤", "👍",
	"🙏", "😘", "🤗", "💪", "🔥", "✨", "🎉", "😉", "☺"}

// profanityRoots are the roots of Russian mat and English swearing, matched
// at a word's start after an optional prefix ("заебали", "охуели"); slang
// that praises ("охуенно", "пиздато", "fucking awesome" is handled by the
// intensifier) is checked first.
var (
	profanityPraise   = []string{"охуенн", "охуительн", "ахуенн", "пиздат", "офигенн", "офигительн", "заебис"}
	profanityRoots    = []string{"хуй", "хуе", "хуё", "хуя", "хуи", "хрен", "пизд", "ебан", "ебал", "ебат", "ебуч", "еби", "ебн", "ебыв", "ублюд", "бля", "сука", "суки", "сучк", "сучар", "мудак", "мудил", "мудо", "гандон", "гондон", "говн", "дерьм", "шлюх", "пидор", "пидар", "жопа", "жопу", "fuck", "shit", "bullshit", "crap", "damn", "asshole", "bitch", "bastard", "wtf", "stfu", "dick", "piss", "pissed", "motherfucker"}
	profanityPrefixes = []string{"", "за", "на", "от", "по", "вы", "у", "о", "об", "до", "пере", "раз", "рас", "при", "с", "под", "ах", "ох", "ни", "до", "изъ", "въ", "съ", "объ", "из"}
)

// profanityValence reports a swear word's valence: strongly negative, or
// positive for praising slang.
func profanityValence(tok string) (float64, bool) {
	for _, p := range profanityPraise {
		if strings.HasPrefix(tok, p) {
			return 3, true
		}
	}
	for _, pre := range profanityPrefixes {
		rest, ok := strings.CutPrefix(tok, pre)
		if !ok || rest == "" {
			continue
		}
		r, _ := utf8.DecodeRuneInString(rest)
		for _, root := range profanityByFirst[r] {
			if strings.HasPrefix(rest, root) {
				return -3, true
			}
		}
	}
	return 0, false
}

// profanityByFirst groups profanityRoots by first rune: a word is checked
// against the few roots that start like it, not all of them.
var profanityByFirst = func() map[rune][]string {
	m := map[rune][]string{}
	for _, root := range profanityRoots {
		r, _ := utf8.DecodeRuneInString(root)
		m[r] = append(m[r], root)
	}
	return m
}()

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
