"""A cross-lingual concept lexicon for the injection model's features.

`concepts(words, text)` names the concepts a text mentions ("IGNORE", "INSTRUCTIONS", "SECRET"...)
whatever its language, so that a weight the model learns on "ignore the previous instructions" also
applies to "ignora las instrucciones anteriores", "игнорируй предыдущие инструкции" or "忽略之前的指示".

How a text is read:

- Spaced scripts: each word is folded (accents, Greek tonos, Arabic and Hebrew letter variants and
  points, Devanagari/Bengali nukta) and looked up, first as an exact word, then by its longest prefix
  (4..12 characters) found in the stem table: "ignor" matches "ignore", "ignora", "ignoriere". A
  stem mapped to nothing blocks a shorter one ("secretar" keeps "secretary" from SECRET). Arabic
  and Hebrew words that match nothing are retried without their clitic prefixes ("والتعليمات" ->
  "تعليمات"). Vietnamese, whose words are syllables, and a few idioms are matched as exact word
  sequences ("bo qua", "rather than").
- Concepts made of two words in most languages ("system prompt", "modo desarrollador", "sin
  restricciones", "don't tell") come from internal tags ("_SYS", "_PROMPT", "_DEV", "_MODE",
  "_WITHOUT", "_NEG", "_TELL"...) found near each other; tags are never returned.
- Chinese, Japanese, Thai (unspaced) and Korean (agglutinative): substring search in the text with
  one trie-shaped regex per script group, built once at import.

Everything is dict lookups, and a word's analysis is cached, so a call costs a few microseconds
per hundred words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["concepts", "CONCEPTS"]

MIN_STEM = 4
MAX_STEM = 12
_CACHE_MAX = 50_000

# ---------------------------------------------------------------------------------------------
# Spaced scripts. One entry per concept (or internal tag, "_..."): lines "lang: tokens".
#   stem        prefix match (after folding; at least 4 characters, at most 12)
#   =word       exact word only
#   a+b(+c)     exact word sequence (phrase); the concept is placed at the first word
# The entry "BLOCK" lists stems / words that must match nothing (they shadow shorter stems).
# ---------------------------------------------------------------------------------------------
_SPACED: dict[str, str] = {
    "IGNORE": """
        en: ignor disregard forget forgot =skip skipp overrid overrul bypass circumvent
        es: olvid omitir =omite descart desconsider =anula anular
        fr: oubli =saute sautez outrepass
        de: ignorier =vergiss vergess missacht uberspring uberschreib
        it: dimentic =salta tralasc trascur
        pt: esquec desconsider
        nl: negeer negeren vergeet vergeten overschrijf
        pl: zignor zapomn pomin
        ru: игнор проигнор забуд забыт пропуст
        uk: ігнор проігнор забудь пропуст
        tr: yoksay yok+say gormezden unut
        ar: تجاهل تتجاهل =انس =انسى اهمل تخطي =تخط
        he: התעלמ תתעלמ =שכח =תשכח
        fa: نادیده فراموش
        ur: نظرانداز نظر+انداز بھول
        hi: अनदेखा नज़रअंदाज़ =भूल =भूलो =भूलें =भूलकर
        bn: উপেক্ষা ভুলে অগ্রাহ্য
        vi: bỏ+qua phớt+lờ quên+đi
        id: abaik lupak =lewati
        sv: strunta glöm hoppa+över
        cs: zapomeň přeskoč
        ro: =uită uitați omite
        el: αγνο ξέχασ παράλειψ
        sw: puuza sahau
        tl: balewal kalimut huwag+pansinin
        ta: புறக்கணி மறந்து
    """,
    "PREVIOUS": """
        en: previous prior earlier preceding former =above aforementio original =initial
        es: anterior =arriba previo previa inicial
        fr: précédent antérieur ci+dessus
        de: vorherig =vorige vorigen obige frühere bisherig ursprüngl
        it: =sopra originari
        pt: =acima
        nl: vorige eerder bovenstaand oorspronk
        pl: poprzedn wcześniej powyższ =powyżej oryginaln
        ru: предыдущ прежн =ранее =выше вышеуказан исходн первоначальн
        uk: попередн =вище вищезазнач початков =раніше
        tr: önceki yukarıdak orijinal
        ar: سابق اعلاه =اصلي المسبق
        he: קודמ =לעיל
        fa: قبلی پیشین
        ur: پچھل سابقہ
        hi: पिछल पूर्व =ऊपर
        bn: পূর্ব আগের
        vi: trước+đó trước+đây ban+đầu ở+trên
        id: sebelum di+atas =asli
        sv: tidigare föregående ovanstående ursprung
        cs: předchoz původn =výše
        ro: mai+sus anterioar
        el: προηγούμεν παραπάνω αρχικ
        sw: iliyopit zilizopit yaliyopit awali hapo+juu
        tl: nakaraan nauna sa+itaas orihinal
        ta: முந்தைய மேலே
    """,
    "INSTRUCTIONS": """
        en: instruct =rule =rules ruleset guideline directive command prompt =prompts =orders
        es: instrucc =regla =reglas directri comand =órdenes indicacion =normas
        fr: consign =règle =règles directiv
        de: anweisung anleitung =regel =regeln richtlini befehl vorgabe
        it: istruzion =regola =regole linee+guida direttiv
        pt: instruç =regra =regras diretri
        nl: instructie =regels richtlijn opdracht
        pl: instrukcj =zasady =reguły wytyczn polecen
        ru: инструкц правил указани директив команд промпт
        uk: інструкц правил вказівк команд промпт
        tr: talimat kural yönerge komut
        ar: تعليمات قواعد ارشادات اوامر توجيهات
        he: הורא הנחי =כללים פקוד
        fa: دستور قوانین رهنمود پرامپت
        ur: ہدایات ہدایت احکامات
        hi: निर्देश नियम आदेश प्रॉम्प्ट
        bn: নির্দেশ নিয়ম
        vi: hướng+dẫn chỉ+dẫn chỉ+thị quy+tắc =lệnh lời+nhắc
        id: instruksi aturan pedoman perintah petunjuk
        sv: instruktion =regler riktlinje kommando
        cs: instrukc pravidl pokyn příkaz
        ro: instrucțiun =reguli =regulile
        el: οδηγί κανόν εντολ
        sw: maagizo agizo maelekezo sheria amri
        tl: tagubilin panuto patakaran utos
        ta: அறிவுறுத் விதிகள் கட்டளை
    """,
    "AI": """
        en: =ai assistant chatbot =bot =bots =agent =agents =llm =llms =gpt chatgpt model =copilot
        es: =ia asistent
        fr: assistant =modèle =modèles
        de: =ki assistent sprachmodell
        it: assistent =modello
        nl: assistent
        pl: asystent
        ru: =ии ассистент помощник модел нейросет =бот
        uk: =ші асистент помічник модел
        tr: asistan yapay+zeka
        ar: اصطناع مساعد نموذج روبوت =بوت
        he: בינה+מלאכותית =עוזר מודל =בוט
        fa: هوش+مصنوعی دستیار =مدل
        ur: اسسٹنٹ ماڈل
        hi: =एआई सहायक मॉडल
        bn: =এআই সহকারী মডেল
        vi: trợ+lý mô+hình trí+tuệ
        id: asisten kecerdasan+buatan
        sv: modell språkmodell
        cs: =ui
        el: =τν βοηθό μοντέλ
        sw: akili+bandia msaidizi
        tl: katulong
        ta: உதவியாளர்
    """,
    "REVEAL": """
        en: reveal disclos =print =printed =repeat repeating =output =outputs display =show =leak leaked leaking
            expose divulg verbatim spell+out
        es: revel muéstram muéstran mostr imprim repit repet =expón
        fr: affich montr dévoil
        de: =zeig zeige zeigen enthüll offenleg ausgeb wiederhol verrate
        it: rivel ripet =stampa
        pt: exib
        nl: onthul =toon =tonen herhaal
        pl: ujawn pokaż wyświetl powtórz wypisz wydrukuj
        ru: раскр покаж показ выведи вывод выдай повтор распечат напечат
        uk: розкри покаж виведи
        tr: göster açıkla ifşa yazdır tekrarla
        ar: اكشف =كشف اظهر اعرض اطبع =كرر =سرب =سربي
        he: =חשוף =הצג הראה הדפס
        fa: =فاش نشان =چاپ تکرار آشکار
        ur: ظاہر دکھا
        hi: प्रकट दिखा उजागर प्रिंट
        bn: প্রকাশ দেখাও
        vi: tiết+lộ hiển+thị in+ra lặp+lại
        id: ungkap tampilk tunjukk cetak ulangi bocor
        sv: avslöj =visa skriv+ut upprepa
        cs: odhal zobraz ukaž vypiš zopakuj
        ro: dezvălu arată afișeaz
        el: αποκάλυψ εμφάνισ δείξ επανάλαβ τύπωσ
        sw: onyesha fichua rudia
        tl: ibunyag ipakita ulitin
        ta: வெளிப்படுத் காட்டு
    """,
    "SECRET": """
        en: password passphrase passcode secret =key =keys apikey =token =tokens credential confidenti
        es: contraseñ =clave =claves credencial confidenc
        fr: mot+de+passe motdepasse =clé =clés =clef identifiants
        de: passwort kennwort geheim schlüssel zugangsdat vertraulich
        it: segret =chiave =chiavi credenzial riservat confidenz
        pt: senha segred =chave =chaves
        nl: wachtwoord sleutel vertrouweli inloggegeven
        pl: hasło =haseł sekret klucz poufn
        ru: парол секрет =ключ ключи токен учётн конфиденциал
        uk: обліков конфіденц
        tr: şifre parola gizli anahtar
        ar: كلمة+المرور =سري =سرية اسرار مفتاح
        he: סיסמ =סוד סודי מפתח
        fa: =رمز گذرواژه کلید محرمانه توکن
        ur: پاسورڈ پاس+ورڈ خفیہ =راز
        hi: पासवर्ड गुप्त कुंजी टोकन गोपनीय
        bn: পাসওয়ার্ড গোপন
        vi: mật+khẩu bí+mật đăng+nhập
        id: kata+sandi =sandi rahasia kunci kredensial
        sv: lösenord hemlig nyckel konfidentiel
        cs: heslo hesl tajn klíč důvěrn
        ro: =cheie =cheia
        el: κωδικ μυστικ κλειδ εμπιστευτικ
        sw: nenosiri =siri
        tl: lihim =susi
        ta: கடவுச்சொல் ரகசிய
    """,
    "SEND": """
        en: send forward transfer =email+it =emailed emailing upload =post =posted exfiltrat =share =shares =shared
            sharing =bcc
        es: =envía =envíe =enviar enviand enviarl reenví transfier compart
        fr: envoi envoy partag
        de: =sende schick weiterleit übermittel hochlad
        it: =invia inviar inoltr trasferi condivid
        pt: encaminh compartilh =transfira
        nl: =stuur stuurt =sturen verstuur doorstur
        pl: wyśl wysył prześl udostępn
        ru: отправ перешл пересл передай передать
        uk: надішл надсила відправ
        tr: gönder =ilet iletin paylaş
        ar: ارسل ارسال =ارس شارك تحويل
        he: =שלח =תשלח העבר =שתף =תשתף שתפו
        fa: بفرست فرست
        ur: بھیج
        hi: =भेज भेजो भेजे भेजन
        bn: পাঠা
        vi: gửi+cho gửi+đến gửi+tới chuyển+tiếp chia+sẻ tải+lên
        id: kirim teruskan unggah bagikan
        sv: skicka vidarebef =dela
        cs: pošli odesl přepošl sdílej
        ro: trimit
        el: στείλ προώθησ μοιράσ
        sw: =tuma tumeni
        tl: ipadala magpadala ipasa
        ta: அனுப்ப
    """,
    "NOW": """
        en: =now immediat henceforth =asap forthwith
        es: =ahora inmediat
        fr: maintenant désormais
        de: =jetzt =sofort umgehend fortan =nun
        it: =adesso =subito
        pt: =agora
        nl: =nu onmiddellijk =meteen voortaan
        pl: =teraz natychmiast
        ru: =сейчас =теперь немедлен отныне
        uk: =зараз =тепер негайно відтепер
        tr: şimdi =hemen derhal bundan+sonra
        ar: =الان فورا حالا
        he: =עכשיו =מיד מעכשיו
        fa: اکنون =حالا
        ur: =ابھی
        hi: =अब तुरंत =अभी
        bn: =এখন অবিলম্বে
        vi: ngay+lập bây+giờ từ+giờ
        id: =sekarang segera
        sv: omedelbart
        cs: =nyní =teď okamžit
        ro: =acum
        el: =τώρα άμεσα
        sw: =sasa mara+moja
        tl: =ngayon =agad
        ta: இப்போது உடனட
    """,
    "MUST": """
        en: =must mandatory requir oblig compulsory have+to has+to
        es: =debes =debe =deben tienes+que hay+que requier
        fr: =dois =doit =devez =devras =faut
        de: muss verpflicht erforderl
        it: =devi =deve =devono
        pt: =deves =devem tem+que tem+de
        nl: =moet =moeten verplicht
        pl: musi obowiązk
        ru: должн обязан =нужно
        uk: повинн =мусиш =маєш
        tr: zorund zorunlu gerek
        ar: =يجب =عليك الزام
        he: חייב =עליך
        fa: =باید اجباری
        ur: ضرور لازمی
        hi: =चाहिए ज़रूर अनिवार्य
        bn: অবশ্যই
        vi: =phải bắt+buộc
        id: =harus wajib diwajibkan
        sv: =måste
        cs: povinn
        ro: trebui
        el: πρέπει υποχρεωτικ
        sw: lazima =sharti
        tl: =dapat kailangan
        ta: வேண்டும்
    """,
    "ROLEPLAY": """
        en: pretend act+as acting+as =role =roles roleplay persona character imagin simula impersonat
        es: =finge =fingir fingiendo actúa+como =rol personaje
        fr: fais+semblant =semblant personnag
        de: tu+so stell+dir =rolle rollenspiel =charakter simulier
        it: =fingi =fingere fai+finta =ruolo personagg immagin
        pt: =finja personagem
        nl: doe+alsof =alsof =rol stel+je
        pl: udaj udaw =rola =roli postać wyobraź symul
        ru: притвор =представь представьте =роль =роли ролев персонаж сыгра
        uk: прикинь =уяви =уявіть зіграй
        tr: gibi+davran =rol =rolü karakter hayal
        ar: تظاهر =دور شخصيه تخيل محاكاه
        he: העמד+פנים תפקיד דמות דמיינ
        fa: وانمود =نقش شخصیت تصور
        ur: کردار
        hi: भूमिका किरदार कल्पना दिखावा =नाटक
        bn: =ভান ভূমিকা চরিত্র
        vi: giả+vờ đóng+vai vai+trò nhân+vật tưởng+tượng
        id: berpura pura+pura peran bayangkan
        sv: låtsas =roll rollspel karaktär
        cs: předstír představ
        ro: pretind personaj
        el: προσποι =ρόλο =ρόλος χαρακτήρ φαντάσ
        sw: jifanye igiza jukumu
        tl: magkunwari magpanggap tauhan
        ta: பாத்திர நடிக்
    """,
    "RESTRICTIONS": """
        en: restric =limit =limits limitation filter censor policy policies ethic moral safety guardrail
        es: limit filtr censur =política =políticas ética étic segurid
        fr: politique éthiq sécurit
        de: einschränk beschränk begrenz zensur =politik ethik sicherheit schranken
        it: restrizion =politica sicurezz
        pt: seguranç
        nl: beperking censuur =beleid veiligheid
        pl: ogranicz cenzur =zasady etyk bezpieczeńs
        ru: огранич фильтр цензур политик этик этич морал безопасност
        uk: обмежен фільтр політик етик етичн безпек
        tr: kısıtla sınırla =sınır =sınırlar sansür politika etik ahlak güvenlik
        ar: قيود حدود فلتر رقابه سياسه اخلاق امان
        he: הגבל מגבל צנזור מדיניות אתיק מוסר בטיחות
        fa: محدود فیلتر سانسور سیاست
        ur: پابند
        hi: प्रतिबंध सीमा फ़िल्टर सेंसर नीति नैतिक सुरक्षा
        bn: সীমাবদ্ধ বিধিনিষেধ নিষেধাজ্ঞা
        vi: hạn+chế giới+hạn bộ+lọc kiểm+duyệt chính+sách đạo+đức
        id: batas pembatasan sensor kebijakan keamanan
        sv: begräns säkerhet
        cs: omezen zásad bezpečnost
        ro: siguranț
        el: περιορισμ φίλτρ λογοκρισ πολιτικ ηθικ ασφάλει
        sw: vikwazo mipaka =sera maadili usalama
        tl: paghihigpit patakaran
        ta: கட்டுப்பா
    """,
    "UNRESTRICTED": """
        en: unrestrict uncensor unfilter unlimit jailbr unbound unshackl unchain =dan+mode you+are+dan as+dan
        es: ilimitad
        fr: illimit
        de: uneingeschr unzensier unbegrenzt unbeschränk ungefilter
        it: illimitat
        nl: onbeperkt ongecensur ongefilter
        pl: nieogranicz
        ru: неогранич безлимит джейлбрейк нецензур
        uk: необмежен
        tr: kısıtlamasız sınırsız sansürsüz filtresiz
        hi: असीमित
        bn: সীমাহীন
        vi: bẻ+khóa
        sv: obegräns ocensurer
        cs: neomezen
    """,
    "DEVMODE": """
        en: devmode godmode =sudo
        de: entwicklerm debugmod adminmod wartungsmod gottmod
        sv: utvecklarläg
    """,
    "USER": """
        en: =user users username customer
        es: usuari client
        fr: utilisateur utilisatric
        de: benutzer nutzer anwender kunde
        it: utent
        pt: utilizad
        nl: gebruiker =klant klanten
        pl: użytkown klient
        ru: пользовател клиент
        uk: користувач клієнт
        tr: kullanıcı müşteri
        ar: مستخدم عميل
        he: משתמש לקוח
        fa: کاربر مشتری
        ur: صارف
        hi: उपयोगकर्ता ग्राहक
        bn: ব্যবহারকারী
        vi: người+dùng khách+hàng
        id: pengguna pelanggan
        sv: användare =kund kunder
        cs: uživatel zákazn
        ro: utilizator
        el: χρήστ πελάτ
        sw: mtumiaji watumiaji mteja
        tl: gumagamit
        ta: பயனர்
    """,
    "CONVERSATION": """
        en: conversation =chat =chats =history =histories dialog
        es: conversa historial
        fr: historique =discussion
        de: gespräch unterhaltung verlauf chatverlauf
        it: cronolog
        pt: =histórico
        nl: gesprek geschiedenis
        pl: rozmow =historia =historii =czat
        ru: разговор бесед диалог истори =чат
        uk: розмов діалог істор
        tr: konuşma sohbet =geçmiş =geçmişi
        ar: محادثه دردشه
        he: שיחה =שיחות היסטורי
        fa: گفتگو مکالمه تاریخچه
        ur: بات+چیت
        hi: बातचीत इतिहास
        bn: কথোপকথন
        vi: trò+chuyện hội+thoại lịch+sử
        id: percakapan riwayat
        sv: konversation samtal historik
        cs: konverzac rozhovor =historie
        ro: istoric
        el: συνομιλ ιστορικ
        sw: mazungumzo
        tl: usapan uusap
        ta: உரையாடல்
    """,
    "_MSG": """
        en: messag
        es: mensaj
        it: messagg
        pt: mensag
        de: nachricht
        nl: bericht
        pl: wiadomoś
        ru: сообщени
        uk: повідомлен
        tr: mesaj
        ar: رساله رسائل
        he: הודע
        fa: پیام
        hi: संदेश
        vi: tin+nhắn
        id: pesan
        sv: meddeland
        cs: zpráv
        el: μήνυμα
        sw: ujumbe
        tl: mensahe
    """,
    "SUMMARY": """
        en: summar recap =tldr =abstract
        es: resum
        fr: synthès
        de: zusammenfass
        it: riassum riassunt sintes
        nl: samenvat
        pl: podsumow streszcz
        ru: резюм суммир обобщ
        uk: підсум
        tr: özet
        ar: =لخص ملخص تلخيص
        he: סיכו =סכם
        fa: خلاصه
        ur: خلاصہ
        hi: सारांश
        bn: সারাংশ সংক্ষেপ
        vi: tóm+tắt
        id: ringkas rangkum
        sv: sammanfatt
        cs: shrň shrnut
        ro: rezum
        el: σύνοψ περίληψ
        sw: muhtasari
        tl: =buod ibuod
        ta: சுருக்க
    """,
    "EXECUTE": """
        en: =call =calls execut =run =runs invok =trigger triggers triggered =function =functions =tool =tools =exec
        es: ejecut invoc funcion herramient
        fr: appel =fonction =fonctions outil
        de: ausführ aufruf funktion werkzeug
        it: esegu chiam funzion strument
        pt: =chame =chamar função ferrament
        nl: uitvoer functie
        pl: wykon uruchom wywoł funkcj narzędz
        ru: выполн запуст вызов вызови функци инструмент
        uk: викона виклич функці
        tr: çalıştır yürüt çağır fonksiyon
        ar: =نفذ تنفيذ استدع =شغل تشغيل داله اداه
        he: הפעל =בצע =הרץ פונקצי
        fa: اجرا فراخوان ابزار
        hi: निष्पादित फ़ंक्शन
        vi: thực+thi gọi+hàm công+cụ
        id: jalankan eksekusi panggil fungsi =alat
        sv: anropa verktyg
        cs: spusť proveď zavolej nástroj
        ro: apelea
        el: εκτέλεσ
        bn: চালাও
        ta: இயக்கு
        sw: endesha
        tl: patakbuhin
    """,
    "DELETE": """
        en: delet =remove removing remov =erase erasing =wipe wiped wiping =drop purge
        es: elimin borra suprim
        fr: supprim effac
        de: lösch entfern
        it: cancell rimuov
        pt: =excluir =exclua apag
        nl: verwijder =wis wissen
        pl: usuń usun skasuj wymaż
        ru: удали удалить =сотри стереть
        uk: видал
        tr: =sil =silin kaldır
        ar: احذف =حذف امسح =ازل
        he: =מחק =תמחק מחיק =הסר
        fa: =پاک
        hi: हटाओ हटाए हटान मिटाओ मिटाए
        bn: মুছে
        vi: =xóa
        id: hapus
        sv: radera ta+bort
        cs: smaž odstraň
        ro: șterg
        el: διάγραψ σβήσ
        sw: =futa
        tl: burahin tanggalin
        ta: நீக்கு
        ur: =مٹا مٹائ مٹاد
    """,
    "GRANT": """
        en: =grant =grants granted granting approv authoriz authoris =allow allowed allowing permission permit
            =access privileg
        es: conced otorg aprob aprueb autoriz permis acceso
        fr: approuv autoris accès
        de: gewähr genehmig erlaub berechtig zugriff
        it: autorizz permess accesso
        pt: aprov acess
        nl: verleen goedkeur toestemming toegang
        pl: przyzn zatwierdz autoryz zezwól uprawnien dostęp
        ru: предостав одобр разреш авториз доступ
        uk: надайте =надай дозвол дозвіл схвал
        tr: yetki onayla izin erişim
        ar: امنح =منح وافق صلاحي =اذن وصول
        he: הענק הרשא גישה
        fa: اجازه دسترسی مجوز تایید
        hi: अनुमति पहुंच स्वीकृत
        vi: cấp+quyền phê+duyệt cho+phép truy+cập
        id: setujui izinkan akses
        sv: bevilja godkänn behörighet åtkomst tillåt
        cs: uděl schval povol oprávněn přístup
        ro: permisiun
        el: πρόσβαση έγκρισ εξουσιοδοτ
        bn: অনুমতি
        sw: ruhusa idhinisha
        tl: pahintulot aprubahan
    """,
    "PAY": """
        en: =pay =pays paying payment =paid payee payable payout =wire =wired =iban invoic =money remit
            account+number routing+number
        es: =pagar =pago =pagos =paga =pague factur  número+de+cuenta
        fr: payez payer paiement virement
        de: zahlung bezahl überweis rechnung kontonummer
        it: pagament =pagare bonific fattur
        pt: =pix fatura =boleto
        nl: betaal factuur rekeningnumm
        pl: zapłać płatnoś przelew faktur numer+konta
        ru: оплат платеж платёж =деньги денег
        uk: платіж рахун
        tr: =öde ödeme havale fatura
        ar: ادفع =دفع فاتوره رقم+الحساب
        he: תשלומ חשבונית
        fa: پرداخت فاکتور واریز
        hi: भुगतान चालान
        vi: thanh+toán chuyển+khoản hóa+đơn tài+khoản
        id: bayar pembayaran tagihan faktur =rekening
        sv: betala betalning faktura kontonummer
        cs: zaplat platb
        ro: =plată =plătește =plati
        el: πληρωμ πλήρωσ
        sw: =lipa malipo
        tl: bayaran magbayad =bayad
        ur: ادائیگی
        bn: অর্থপ্রদান পেমেন্ট
        ta: செலுத்து
    """,
    "HIDE": """
        en: secretly silently quietly covert surreptitio stealth =hide hiding conceal unnoticed undetected discreet
        es: secretament sigilos en+secreto
        fr: secrètement discrètement en+cachette
        de: heimlich unbemerkt
        it: segretament di+nascosto
        nl: stiekem ongemerkt
        pl: potajemn po+cichu dyskretn
        ru: тайно незаметно втайне
        uk: таємно непомітно
        tr: gizlice sessizce habersiz söylemeden bahsetmeden =söyleme =bahsetme
        ar: =سرا خفيه
        he: =בסתר =בשקט
        fa: مخفیانه پنهانی =نگو نگویید
        ur: چپکے
        hi: चुपके
        bn: গোপনে
        vi: lặng+lẽ âm+thầm đừng+nói không+nói không+thông
        id: diam+diam sembunyi
        sv: i+hemlighet
        cs: =tajně potichu neříkej nezmiňuj neinformuj
        ro: în+secret
        el: κρυφά μυστικά
        sw: kwa+siri usimwambi usiwaambi usiseme
        tl: palihim huwag+sabihin
        ta: ரகசியமாக சொல்லாதே
    """,
    "_HID": """
        en: hidden
        es: ocult
        fr: caché
        de: verborgen versteck
        it: nascost
        pt: escondid ocult
        nl: verborgen
        pl: ukryt
        ru: скрыт
        uk: прихован
        tr: gizlenm
        ar: مخفي
        he: מוסתר נסתר
        fa: مخفی پنهان
        hi: छुपा छिपा
        id: tersembunyi
        cs: skryt
        el: κρυφ
    """,
    "INSTEAD": """
        en: instead rather+than in+place+of
        es: en+lugar+de en+vez
        fr: au+lieu plutôt
        de: stattdessen =statt anstatt anstelle
        it: =invece anziché
        pt: em+vez ao+invés
        nl: in+plaats
        pl: zamiast
        ru: вместо
        uk: замість
        tr: yerine
        ar: بدلا عوضا
        he: =במקום
        fa: بجای به+جای
        hi: बजाय
        vi: thay+vì
        id: =daripada sebagai+gantinya
        sv: istället
        cs: namísto
        ro: în+loc
        el: =αντί
        sw: badala
        tl: sa+halip
        ur: بجائے
        bn: পরিবর্তে
        ta: பதிலாக
    """,
    "NOTE": """
        en: =note =nb attention importan =notice warning =warn reminder urgent
        es: =nota atención =aviso advertenc recordator
        fr: =remarque avertis rappel
        de: =hinweis achtung wichtig =beachte beachten warnung erinnerung
        it: attenzion avvertenz =avviso promemoria
        pt: atenção lembret
        nl: =opmerking let+op belangrijk waarschuw herinnering
        pl: =uwaga =ważne ostrzeż przypomn
        ru: примечан вниман важн предупрежд напомина
        uk: примітк =увага важлив
        tr: dikkat önemli uyarı
        ar: ملاحظه =انتبه تنبيه =مهم =هام تحذير
        he: הערה שים+לב חשוב אזהרה
        fa: توجه یادداشت هشدار
        ur: =نوٹ =اہم
        hi: =नोट ध्यान महत्वपूर्ण चेतावनी
        bn: গুরুত্বপূর্ণ দ্রষ্টব্য
        vi: lưu+ý chú+ý quan+trọng cảnh+báo nhắc+nhở
        id: catatan perhatian penting peringatan
        sv: =obs viktig varning
        cs: poznámk pozor důležit varován
        ro: atenți avertisment
        el: σημείωσ προσοχ σημαντικ προειδοποίησ
        sw: kumbuka muhimu tahadhari =onyo
        tl: paalala tandaan mahalaga babala
        ta: குறிப்பு முக்கிய
    """,
    "MAIL": """
        en: =email =emails =emailed emailing e+mail =mail mailbox =mails =letter =letters =memo =memos =inbox
        es: correo =carta =cartas memorando
        fr: courriel =courrier =lettre
        it: =lettera
        pl: =maila =mailem
        ru: письм почт имейл
        uk: =лист пошт
        tr: e+posta eposta =mektup
        ar: بريد خطاب
        he: אימייל דואר מכתב
        fa: ایمیل نامه
        hi: ईमेल पत्र
        bn: ইমেল ইমেইল
        vi: thư+điện
        id: =surel =surat
        sv: =mejl =brev
        cs: =dopis
        ro: scrisoare
        el: επιστολ
        sw: barua
        tl: =liham
        ta: மின்னஞ்ச
    """,
    "DOCUMENT": """
        en: document =file =files filename =draft =drafts attachment attached =report =reports spreadsheet =page =pages
            =pdf =doc =docs
        es: archiv =fichero =ficheros borrador adjunt =informe =informes hoja+de+cálculo pagin
        fr: fichier brouillon pièce+jointe =rapport tableur
        de: dokument =datei =dateien entwurf =anhang =bericht
        it: bozza allegat
        pt: arquiv rascunh anexo relatóri planilha
        nl: bestand bijlage verslag
        pl: =plik =pliku załącznik raport arkusz
        ru: документ =файл файла черновик вложени отчет отчёт страниц
        uk: чернетк вкладен звіт
        tr: belge dosya taslak rapor sayfa
        ar: مستند =ملف ملفات مسوده مرفق تقرير صفحه
        he: מסמכ קובצ קבצי טיוטה
        fa: =سند فایل گزارش پیوست
        hi: दस्तावेज़ फ़ाइल रिपोर्ट
        vi: tài+liệu =tệp báo+cáo đính+kèm bản+nháp
        id: dokumen berkas lampiran laporan =draf halaman
        sv: =fil =filen bilaga
        cs: soubor příloh
        ro: fișier atașament
        el: έγγραφ αρχεί συνημμέν
        sw: =hati faili ripoti
        tl: =ulat
        ur: دستاویز فائل
        bn: =নথি ফাইল
    """,
    "MEETING": """
        en: =call =calls meeting appointment schedul calendar =agenda
        es: reunión =cita
        fr: rendez calendrier
        de: besprechung =termin =termine kalender sitzung
        it: riunion appuntament
        pt: reunião
        nl: vergadering afspraak
        pl: spotkan kalendarz
        ru: встреч совещани звонок календар расписани
        uk: зустріч нарад календар
        tr: toplant randevu takvim
        ar: اجتماع موعد تقويم
        he: פגיש
        fa: جلسه ملاقات تقویم
        hi: बैठक मीटिंग कैलेंडर
        vi: cuộc+họp lịch+hẹn
        id: =rapat pertemuan jadwal
        sv: =möte =mötet
        cs: schůzk
        ro: întâlnir ședinț
        el: συνάντησ ραντεβού ημερολόγ
        sw: mkutano
        tl: pulong
        bn: =সভা মিটিং
        ta: கூட்ட
    """,
    "RESPONSE": """
        en: =answer answers answered answering =reply =replies =replied respons respond =output =outputs
        es: respuest =responde
        fr: répons répond
        de: antwort
        it: rispost rispond
        pt: respost
        nl: antwoord
        pl: odpowied
        ru: ответ
        uk: відповід
        tr: cevap yanıt
        ar: اجابه =رد جواب
        he: תשוב =ענה
        fa: پاسخ
        hi: उत्तर जवाब
        bn: উত্তর
        vi: trả+lời phản+hồi
        id: jawab balas tanggapan
        sv: =svar svara
        cs: odpověď
        ro: răspuns
        el: απάντησ
        sw: =jibu majibu
        tl: sagot
        ta: பதில்
    """,
    "TRANSLATE": """
        en: translat
        es: tradu
        de: übersetz
        nl: vertaal vertaling
        pl: przetłum tłumacz
        ru: перевед перевод
        uk: переклад
        tr: çevir
        ar: ترجم
        he: תרגמ תרגומ
        hi: अनुवाद
        bn: অনুবাদ
        vi: =dịch
        id: terjemah menerjemah
        sv: översätt
        cs: přelož překlad
        el: μετάφρ
        sw: tafsiri
        tl: isalin
        ta: மொழிபெயர்
    """,
    "SAFE": """
        en: =safe harmless legitimat verified =trusted trustworth benign
        es: inofensiv legítim verificad confiabl =fiable
        fr: inoffensi vérifié fiabl
        de: =sicher harmlos legitim verifizier vertrauensw
        it: =sicuro innocu legittim verificat affidabil
        pt: =seguro =segura confiáv
        nl: =veilig onschuldig betrouwbaar geverifieerd
        pl: bezpieczn nieszkodliw zweryfik zaufan
        ru: безопасн безвредн легитимн проверен
        uk: безпечн нешкідлив перевірен
        tr: güvenli zararsız doğrulan
        ar: =امن موثوق
        he: בטוח מאומת לגיטימי
        fa: ایمن
        hi: सुरक्षित हानिरहित सत्यापित विश्वसनीय
        vi: an+toàn vô+hại hợp+pháp xác+minh đáng+tin
        id: =aman terverifika tepercaya terpercaya
        sv: ofarlig verifierad pålitlig
        cs: bezpečn neškodn ověřen
        ro: =sigur inofensiv
        el: ασφαλή ασφαλέσ ακίνδυν
        sw: salama
        tl: ligtas
        ur: محفوظ
        bn: নিরাপদ
        ta: பாதுகாப்பா
    """,
    # --- internal tags: combined by _RULES below, never returned ---
    "_SYS": """
        en: system
        es: sistem
        ru: систем
        uk: систем
        ar: نظام
        he: מערכת
        fa: سیستم
        ur: سسٹم
        hi: सिस्टम
        bn: সিস্টেম
        vi: hệ+thống
        el: σύστημ
        sw: mfumo
    """,
    "_PROMPT": """
        en: prompt =prompts
        ru: промпт
        uk: промпт
        fa: پرامپت
        hi: प्रॉम्प्ट
        he: פרומפט
        vi: lời+nhắc
    """,
    "_PRE": """
        en: =pre
    """,
    "_DEV": """
        en: develop =dev debug =admin administrat =god maintenance =root
        es: desarroll depuraci mantenim =dios administrad
        fr: développeur débogage =dieu
        de: entwickler wartung =gott
        it: sviluppator manutenzion
        pt: desenvolved depuração manutenção
        nl: ontwikkelaar onderhoud
        pl: deweloper programist
        ru: разработчик отладк админ обслуживан
        uk: розробник налагодж
        tr: geliştirici bakım
        ar: مطور
        he: מפתח
        fa: توسعه
        hi: डेवलपर
        vi: phát+triển
        id: pengembang
        sv: utvecklar
        cs: vývojář
        ro: dezvoltator
        el: προγραμματισ
    """,
    "_MODE": """
        en: =mode =modes
        es: =modo
        de: =modus
        it: modalità
        pl: =tryb =trybie =trybu
        ru: =режим =режиме =режима
        uk: =режим =режимі
        tr: =mod =modu =modunda =moduna
        ar: =وضع وضعيه
        he: =מצב
        fa: =حالت
        hi: =मोड
        vi: chế+độ
        cs: =režim =režimu
        el: =λειτουργία
        ro: =modul =modului
        sv: =läge =läget
    """,
    "_WITHOUT": """
        en: =without =no =zero disabl deactivat =lift =remove removing bypass
        es: =sin
        fr: =sans
        de: =ohne =keine
        it: =senza
        pt: =sem
        nl: =zonder =geen
        pl: =bez
        ru: =без
        uk: =без
        ar: =بدون =دون =بلا
        he: =ללא =בלי =מבלי
        fa: =بدون
        ur: =بغیر
        hi: =बिना
        vi: =không
        id: =tanpa
        sv: =utan
        cs: =bez
        ro: =fără
        el: =χωρίς
        sw: =bila
        tl: =walang
    """,
    "_WITHOUTPOST": """
        en: =off =disabled =lifted =removed
        tr: olmadan
        hi: =बिना
        bn: =ছাড়া
        ta: இல்லாமல்
    """,
    "_NEG": """
        en: =not =don =doesn =didn =never =without =no
        es: =no =sin =nunca
        fr: =ne =n =pas =sans =jamais
        de: =nicht =ohne =nie =niemals =keinesfalls
        it: =non =senza =mai
        pt: =não =sem =nunca
        nl: =niet =zonder =nooit
        pl: =nie =bez
        ru: =не =без =никогда
        uk: =не =без =ніколи
        ar: =لا =دون =بدون
        he: =אל =לא =בלי =מבלי =ללא
        fa: =بدون
        ur: =مت =نہ =نہیں
        hi: =मत =न =नहीं =बिना
        id: =jangan =tanpa =tidak
        sv: =inte =utan =aldrig
        ro: =nu =fără
        el: =μην =δεν =χωρίς
        tl: =huwag
    """,
    "_NEGPOST": """
        hi: =नहीं
        ur: =نہیں
        bn: =না
        ta: வேண்டாம்
    """,
    "_TELL": """
        en: =tell telling mention inform notif =alert alerting =warn
        es: =digas =diga =decir decirle mencion avisa =avises =avise
        fr: =dis =dites =dire préven
        de: =sag =sage =sagen erwähn benachricht
        it: =dirlo menzion avvisa
        pt: =dizer
        nl: =vertel =zeg vermeld
        pl: =mów =mówić wspomin powiadam
        ru: говори сообща упомина упомян уведом
        uk: =кажи згаду повідомля
        ar: تخبر تبلغ =تقل
        he: תספר תגיד תזכיר תודיע
        ur: بتائ بتان
        hi: बताओ बताए बतान ज़िक्र उल्लेख
        bn: বলবে =বলো
        id: beritahu memberit sebutkan
        sv: berätta
        ro: =spune mentiona
        el: =πεις αναφέρ ενημερ
        tl: sabihin
        ta: சொல்
    """,
    "BLOCK": """
        en: keyboard keynote keystone keyword priorit preview promptly secretar assistance =resume =resumed
            =resuming informat characteris personal personn responsib forwardl transferab postal postage
            regular policem sendai initialis initializ originat
        es: secretari borrador regulaci informaci funcionari funzionari
        pt: assistênc
        de: regelmäß assistenz
        it: segretar
        tr: unutma iletişim
        sv: etikett
        id: pesanan
    """,
}

# Rules over tag positions (word indexes): (a, bs, window, ordered, result). With ordered, a must
# come before b; otherwise either order.
_RULES: tuple[tuple[str, tuple[str, ...], int, bool, str], ...] = (
    ("_SYS", ("_PROMPT", "INSTRUCTIONS", "_MSG"), 3, False, "SYSTEM"),
    ("_HID", ("_PROMPT",), 2, False, "SYSTEM"),
    ("_PRE", ("_PROMPT",), 1, True, "SYSTEM"),
    ("_DEV", ("_MODE",), 3, False, "DEVMODE"),
    ("_WITHOUT", ("RESTRICTIONS",), 3, True, "UNRESTRICTED"),
    ("RESTRICTIONS", ("_WITHOUTPOST",), 3, True, "UNRESTRICTED"),
    ("_NEG", ("_TELL",), 3, True, "HIDE"),
    ("_TELL", ("_NEGPOST",), 2, True, "HIDE"),
)
# Words that carry a concept of their own as well as a tag.
_ALSO: dict[str, tuple[str, ...]] = {
    "_MSG": ("MAIL", "CONVERSATION"),
    "_HID": ("HIDE",),
    "_PROMPT": ("INSTRUCTIONS",),
}
# Compounds and stems that name a whole concept pair at once.
_COMPOUNDS: dict[str, tuple[str, ...]] = {
    "systemprompt": ("SYSTEM", "INSTRUCTIONS"),
    "systemanweis": ("SYSTEM", "INSTRUCTIONS"),
    "systemnachri": ("SYSTEM", "MAIL"),
    "systeminstru": ("SYSTEM", "INSTRUCTIONS"),
    "systemmessag": ("SYSTEM", "MAIL"),
    "preprompt": ("SYSTEM", "INSTRUCTIONS"),
    "metaprompt": ("SYSTEM", "INSTRUCTIONS"),
    "transferenc": ("SEND", "PAY"),
    "chatverlauf": ("CONVERSATION",),
    "chatbot": ("AI",),
    "informe": ("DOCUMENT", "_TELL"),
    "مفتاح": ("SECRET",),
}

# ---------------------------------------------------------------------------------------------
# Unspaced scripts and Korean: literal substrings of the text ("_" stands for an optional space
# in Korean). Same "lang: tokens" lines.
# ---------------------------------------------------------------------------------------------
_UNSPACED: dict[str, str] = {
    "IGNORE": """
        zh: 忽略 无视 無視 忽视 忽視 忘记 忘記 忘掉 跳过 跳過 不要理会 不要理會 不理会 覆盖之前
        ja: 無視 忘れ 忘れて スキップ 従わないで
        ko: 무시 잊어 잊고 잊으 건너뛰 재정의
        th: ไม่ต้องสนใจ เพิกเฉย ละเว้น ลืม ข้าม
    """,
    "PREVIOUS": """
        zh: 之前 以前 先前 上述 上面 前面的 此前 原始 最初
        ja: 以前の これまでの 上記 前述 元の 最初の
        ko: 이전 위의 앞의 앞서 기존 원래
        th: ก่อนหน้า ข้างต้น ข้างบน เดิม
    """,
    "INSTRUCTIONS": """
        zh: 指示 指令 规则 規則 提示词 提示詞 命令 准则 準則 说明书
        ja: 指示 命令 ルール 規則 プロンプト ガイドライン
        ko: 지시 지침 규칙 명령 프롬프트 가이드라인
        th: คำสั่ง คำแนะนำ กฎ กฎเกณฑ์ พรอมต์ พรอมพ์ แนวทาง
    """,
    "SYSTEM": """
        zh: 系统提示 系統提示 系统消息 系統消息 系统指令 系統指令 系统指示 隐藏提示 系统提示词 系统设定
        ja: システムプロンプト システムメッセージ システム指示 隠しプロンプト
        ko: 시스템_프롬프트 시스템_메시지 시스템_지침 시스템_지시 숨겨진_프롬프트
        th: พรอมต์ระบบ ข้อความระบบ คำสั่งระบบ
    """,
    "AI": """
        zh: 人工智能 助手 模型 聊天机器人 机器人 機器人 语言模型 語言模型 智能体 大模型
        ja: 人工知能 アシスタント チャットボット 言語モデル モデル ボット エージェント
        ko: 인공지능 어시스턴트 비서 챗봇 모델 에이전트
        th: ปัญญาประดิษฐ์ ผู้ช่วย แชทบอท โมเดล
    """,
    "REVEAL": """
        zh: 透露 泄露 洩露 泄漏 显示 顯示 输出 輸出 打印 重复 重複 公开 公開 展示 告诉我 告訴我
        ja: 明かし 明かす 開示 表示 出力 繰り返 漏らし 漏洩 教えて 見せて
        ko: 공개 밝혀 출력 표시 보여 반복 유출 누설 알려줘 알려주세요
        th: เปิดเผย แสดง พิมพ์ ทำซ้ำ รั่วไหล บอกฉัน
    """,
    "SECRET": """
        zh: 密码 密碼 秘密 密钥 密鑰 令牌 凭证 憑證 机密 機密 口令
        ja: パスワード 秘密 機密 トークン 認証情報 秘密鍵 APIキー apiキー
        ko: 비밀번호 암호 비밀 토큰 자격_증명 기밀 api_키
        th: รหัสผ่าน ความลับ คีย์ โทเค็น ข้อมูลประจำตัว
    """,
    "SEND": """
        zh: 发送 發送 转发 轉發 上传 上傳 分享 发给 發給 发到 寄给
        ja: 送信 転送 送って 送っ 送る 送れ アップロード 共有
        ko: 보내 전송 전달 업로드 공유
        th: ส่งต่อ ส่งไป ส่งให้ ส่ง อัปโหลด แชร์ ส่งเสริม_BLOCK
    """,
    "NOW": """
        zh: 现在 現在 立即 立刻 马上 馬上 从现在开始 從現在開始 从今以后
        ja: 今すぐ 今から 直ちに 今後は ただちに
        ko: 지금 즉시 이제부터 지금부터 이제
        th: ตอนนี้ ทันที จากนี้ไป
    """,
    "MUST": """
        zh: 必须 必須 务必 務必 一定要 不得不
        ja: 必ず しなければ なければならない 必須
        ko: 반드시 해야 필수 꼭
        th: ต้อง จำเป็น
    """,
    "ROLEPLAY": """
        zh: 假装 假裝 扮演 角色 模拟 模擬 想象 想像
        ja: ふりを 演じ 役割 ロールプレイ キャラクター 想像 シミュレート なりきっ
        ko: 척하 척해 역할 롤플레이 캐릭터 상상 시뮬레이션
        th: แกล้งทำ สวมบทบาท บทบาท ตัวละคร จินตนาการ จำลอง
    """,
    "RESTRICTIONS": """
        zh: 限制 过滤 過濾 审查 審查 政策 道德 伦理 倫理 安全限制 安全策略 安全准则 安全规则 约束 約束
        ja: 制限 フィルター 検閲 ポリシー 倫理 道徳 安全性 制約
        ko: 제한 제약 필터 검열 정책 윤리 도덕 안전_정책 안전_지침
        th: ข้อจำกัด จำกัด ตัวกรอง เซ็นเซอร์ นโยบาย จริยธรรม ศีลธรรม ความปลอดภัย
    """,
    "UNRESTRICTED": """
        zh: 无限制 無限制 不受限制 没有限制 沒有限制 越狱 越獄 未经审查 無審查 无审查 不受约束
        ja: 無制限 制限なし 制限のない 脱獄 ジェイルブレイク 検閲なし
        ko: 무제한 제한_없 제한이_없 탈옥 검열_없
        th: ไม่จำกัด ไม่มีข้อจำกัด เจลเบรก
    """,
    "DEVMODE": """
        zh: 开发者模式 開發者模式 开发人员模式 管理员模式 管理員模式 调试模式 調試模式 上帝模式 维护模式
        ja: 開発者モード 管理者モード デバッグモード ゴッドモード メンテナンスモード
        ko: 개발자_모드 관리자_모드 디버그_모드 갓_모드 유지보수_모드
        th: โหมดนักพัฒนา โหมดผู้ดูแล โหมดดีบัก
    """,
    "USER": """
        zh: 用户 用戶 使用者 客户 客戶
        ja: ユーザー ユーザ 顧客 お客様
        ko: 사용자 고객 유저
        th: ผู้ใช้ ลูกค้า
    """,
    "CONVERSATION": """
        zh: 对话 對話 聊天 历史记录 歷史記錄 消息 訊息 会话 會話
        ja: 会話 チャット 履歴 メッセージ 対話
        ko: 대화 채팅 기록 메시지
        th: บทสนทนา การสนทนา แชท ประวัติ ข้อความ
    """,
    "SUMMARY": """
        zh: 总结 總結 摘要 概括 概述
        ja: 要約 概要 まとめ
        ko: 요약
        th: สรุป บทคัดย่อ
    """,
    "EXECUTE": """
        zh: 执行 執行 运行 運行 调用 調用 触发 觸發 函数 函數 工具
        ja: 実行 呼び出 起動 関数 ツール
        ko: 실행 호출 함수 도구
        th: เรียกใช้ รันคำสั่ง ฟังก์ชัน เครื่องมือ
    """,
    "DELETE": """
        zh: 删除 刪除 移除 清除 抹去 清空
        ja: 削除 消去 消して
        ko: 삭제 제거 지워 지우
        th: ลบ
    """,
    "GRANT": """
        zh: 授予 批准 授权 授權 允许 允許 权限 權限 访问权 訪問權 管理员权限
        ja: 付与 承認 許可 権限 アクセス
        ko: 부여 승인 허용 허가 권한 접근 액세스
        th: ให้สิทธิ์ อนุมัติ อนุญาต สิทธิ์ เข้าถึง
    """,
    "PAY": """
        zh: 支付 付款 汇款 匯款 转账 轉帳 轉賬 账号 帳號 发票 發票 银行账户
        ja: 支払 送金 振込 振り込 口座 請求書
        ko: 지불 결제 송금 이체 계좌 청구서 송장
        th: จ่าย ชำระ โอนเงิน เลขที่บัญชี ใบแจ้งหนี้
    """,
    "HIDE": """
        zh: 偷偷 秘密地 悄悄 不要告诉 不要告訴 不要提及 不要提到 隐藏 隱藏 默默 暗中 别告诉 別告訴
        ja: こっそり 密かに ひそかに 黙って 言わないで 伝えないで 知らせずに 隠し 内緒
        ko: 몰래 조용히 알리지 말하지_말 언급하지 숨겨 숨기
        th: แอบ อย่าบอก โดยไม่บอก ซ่อน เงียบๆ
    """,
    "INSTEAD": """
        zh: 而不是 代替 取而代之 改为 改為
        ja: 代わりに
        ko: 대신
        th: แทนที่จะ
    """,
    "NOTE": """
        zh: 注意 重要 提醒 警告 通知 备注 備註
        ja: 注意 重要 お知らせ 警告 備考 注:
        ko: 참고 주의 중요 경고 알림
        th: หมายเหตุ โปรดทราบ สำคัญ คำเตือน แจ้งเตือน
    """,
    "MAIL": """
        zh: 邮件 郵件 电子邮件 電子郵件 信件 备忘录 備忘錄 消息 訊息
        ja: メール 電子メール 手紙 メモ メッセージ
        ko: 이메일 메일 편지 메모 메시지
        th: อีเมล จดหมาย ข้อความ
    """,
    "DOCUMENT": """
        zh: 文件 文档 文檔 草稿 附件 报告 報告 电子表格 页面 頁面
        ja: 文書 ファイル 下書き 添付 報告書 レポート スプレッドシート ページ
        ko: 문서 파일 초안 첨부 보고서 스프레드시트 페이지
        th: เอกสาร ไฟล์ ฉบับร่าง ไฟล์แนบ รายงาน สเปรดชีต
    """,
    "MEETING": """
        zh: 会议 會議 预约 預約 日程 日历 日曆 开会
        ja: 会議 ミーティング 予約 予定 スケジュール カレンダー
        ko: 회의 미팅 약속 일정 캘린더 달력
        th: การประชุม ประชุม นัดหมาย กำหนดการ ปฏิทิน
    """,
    "RESPONSE": """
        zh: 回答 回复 回覆 回復 答复 答覆 响应 響應
        ja: 回答 返信 返答 応答
        ko: 답변 응답 대답 회신 답장
        th: คำตอบ ตอบกลับ การตอบสนอง
    """,
    "TRANSLATE": """
        zh: 翻译 翻譯
        ja: 翻訳
        ko: 번역
        th: แปล การแปล แปลก_BLOCK
    """,
    "SAFE": """
        zh: 安全 无害 無害 合法 已验证 已驗證 可信
        ja: 安全 無害 正当 検証済み 信頼できる
        ko: 안전 무해 합법 검증된 신뢰할
        th: ปลอดภัย ไม่เป็นอันตราย ยืนยันแล้ว เชื่อถือได้
    """,
    "BLOCK": """
        th: กฎหมาย ตัวแทน
    """,
}
# Substrings that carry two concepts (the regex takes the longest match at each position).
_UNSPACED_ALSO: dict[str, tuple[str, ...]] = {
    "系统提示词": ("INSTRUCTIONS",),
    "安全限制": ("SAFE",),
    "消息": ("MAIL",),
    "訊息": ("MAIL",),
    "메시지": ("MAIL",),
    "メッセージ": ("MAIL",),
    "ข้อความ": ("MAIL",),
}

# ---------------------------------------------------------------------------------------------
# Folding: one table for words and stems alike.
# ---------------------------------------------------------------------------------------------


def _build_fold() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for lo, hi in ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0370, 0x03FF)):
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
            if base and base != ch:
                table[cp] = base
    manual = {
        "ł": "l", "đ": "d", "ø": "o", "ß": "ss", "ı": "i", "æ": "ae", "œ": "oe", "ħ": "h", "ς": "σ",
        "ё": "е", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ک": "ك", "ة": "ه",
        "ہ": "ه", "ۂ": "ه", "ھ": "ه", "ۀ": "ه", "ך": "כ", "ם": "מ", "ן": "נ", "ף": "פ", "ץ": "צ",
        "\u0901": "\u0902", "\u09dc": "\u09a1", "\u09dd": "\u09a2", "\u09df": "\u09af",
    }  # fmt: skip
    for src, dst in manual.items():
        table[ord(src)] = dst
    for cp, base in zip(range(0x0958, 0x0960), "कखगजडढफय", strict=True):
        table[cp] = base
    for lo, hi in ((0x0300, 0x036F), (0x064B, 0x065F), (0x0591, 0x05C7)):
        for cp in range(lo, hi + 1):
            table[cp] = None
    for cp in (0x0670, 0x0640, 0x093C, 0x09BC):
        table[cp] = None
    return table


_FOLD = _build_fold()


def _fold(word: str) -> str:
    return word if word.isascii() else word.translate(_FOLD)


_Labels = tuple[str, ...]


def _lines(spec: str) -> Iterable[tuple[str, list[str]]]:
    lang = ""
    for raw in spec.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        head, sep, rest = line.partition(": ")
        if sep and len(head) == 2 and head.isalpha():
            lang, line = head, rest
        yield lang, line.split()


def _build_spaced() -> tuple[dict[str, _Labels], dict[str, _Labels], dict[str, list[tuple[tuple[str, ...], _Labels]]]]:
    exact: dict[str, set[str]] = {}
    stems: dict[str, set[str]] = {}
    phrases: dict[tuple[str, ...], set[str]] = {}
    blocked_exact: set[str] = set()
    blocked_stems: set[str] = set()
    for label, spec in _SPACED.items():
        labels = {label, *_ALSO.get(label, ())}
        for _lang, tokens in _lines(spec):
            for tok in tokens:
                if "+" in tok:
                    key = tuple(_fold(p) for p in tok.lstrip("=").split("+"))
                    if label == "BLOCK":
                        phrases.setdefault(key, set())
                    else:
                        phrases.setdefault(key, set()).update(labels)
                elif tok.startswith("="):
                    word = _fold(tok[1:])
                    if label == "BLOCK":
                        blocked_exact.add(word)
                    else:
                        exact.setdefault(word, set()).update(labels)
                else:
                    stem = _fold(tok)
                    if not MIN_STEM <= len(stem) <= MAX_STEM:
                        raise ValueError(f"stem {tok!r} ({label}) must have {MIN_STEM}..{MAX_STEM} characters")
                    if label == "BLOCK":
                        blocked_stems.add(stem)
                    else:
                        stems.setdefault(stem, set()).update(labels)
    for stem, pair in _COMPOUNDS.items():
        stems.setdefault(_fold(stem), set()).update(pair)
    final_stems: dict[str, _Labels] = {s: tuple(sorted(v)) for s, v in stems.items() if s not in blocked_stems}
    final_stems.update({s: () for s in blocked_stems})
    final_exact: dict[str, _Labels] = {}
    for word, labels in exact.items():
        # An exact entry adds to what the word's stem gives (unless that stem is blocked).
        merged = set(labels)
        merged.update(_stem_lookup(word, final_stems) or ())
        final_exact[word] = tuple(sorted(merged))
    final_exact.update({w: () for w in blocked_exact})
    by_first: dict[str, list[tuple[tuple[str, ...], _Labels]]] = {}
    for key, labels in phrases.items():
        by_first.setdefault(key[0], []).append((key[1:], tuple(sorted(labels))))
    return final_exact, final_stems, by_first


def _stem_lookup(word: str, stems: dict[str, _Labels]) -> _Labels | None:
    for k in range(min(len(word), MAX_STEM), MIN_STEM - 1, -1):
        hit = stems.get(word[:k])
        if hit is not None:
            return hit
    return None


_EXACT, _STEMS, _PHRASES = _build_spaced()
_GATE = frozenset(s[:MIN_STEM] for s in _STEMS)

_AR_PREFIXES = ("وال", "فال", "بال", "كال", "ولل", "لل", "ال", "و", "ف", "ب", "ل")
_HE_PREFIXES = ("וה", "שה", "וש", "מה", "כש", "לה", "בה", "וב", "ול", "ומ", "ה", "ו", "ש", "ב", "ל", "מ", "כ")


def _lookup(w: str) -> _Labels | None:
    hit = _EXACT.get(w)
    if hit is not None:
        return hit
    if len(w) >= MIN_STEM and w[:MIN_STEM] in _GATE:
        return _stem_lookup(w, _STEMS)
    return None


_Entry = tuple[str, _Labels, bool]
_CACHE: dict[str, _Entry] = {}


def _analyse(word: str) -> _Entry:
    w = _fold(word)
    labels = _lookup(w)
    if labels is None and not w.isascii():
        c = w[0]
        prefixes: tuple[str, ...] = ()
        if "\u0600" <= c <= "\u06ff":
            prefixes = _AR_PREFIXES
        elif "\u05d0" <= c <= "\u05ea":
            prefixes = _HE_PREFIXES
        for p in prefixes:
            if w.startswith(p) and len(w) - len(p) >= 3:
                labels = _lookup(w[len(p) :])
                if labels is not None:
                    break
    return w, labels or (), w in _PHRASES


# ---------------------------------------------------------------------------------------------
# Unspaced scripts: trie-shaped alternations, one per script group.
# ---------------------------------------------------------------------------------------------


_Trie = dict[str, "_Trie"]


def _trie_regex(words: Iterable[str]) -> str:
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            # A word ends here: the longer words through this node are tried first (greedy "?").
            return "(?:" + body + ")?"
        return body

    return emit(trie)


_GROUPS: dict[str, tuple[str, ...]] = {"cjk": ("zh", "ja"), "ko": ("ko",), "th": ("th",)}
_GROUP_SCRIPT: dict[str, re.Pattern[str]] = {
    "cjk": re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "ko": re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"),
    "th": re.compile("[\u0e00-\u0e7f]"),
}
_ANY_UNSPACED = re.compile(
    "[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]"
)


def _build_unspaced() -> dict[str, tuple[re.Pattern[str], dict[str, _Labels]]]:
    out: dict[str, tuple[re.Pattern[str], dict[str, _Labels]]] = {}
    for group, langs in _GROUPS.items():
        table: dict[str, set[str]] = {}
        for label, spec in _UNSPACED.items():
            for lang, tokens in _lines(spec):
                if lang not in langs:
                    continue
                for tok in tokens:
                    blocked = label == "BLOCK" or tok.endswith("_BLOCK")
                    tok = tok.removesuffix("_BLOCK").lower()
                    variants = {tok.replace("_", " "), tok.replace("_", "")} if "_" in tok else {tok}
                    for v in variants:
                        entry = table.setdefault(v, set())
                        if not blocked:
                            entry.add(label)
                            entry.update(_UNSPACED_ALSO.get(v, ()))
        # A blocked substring maps to nothing even if listed elsewhere.
        for label, spec in _UNSPACED.items():
            for lang, tokens in _lines(spec):
                if lang in langs:
                    for tok in tokens:
                        if label == "BLOCK" or tok.endswith("_BLOCK"):
                            table[tok.removesuffix("_BLOCK").lower()] = set()
        pattern = re.compile(_trie_regex(table))
        out[group] = (pattern, {k: tuple(sorted(v)) for k, v in table.items()})
    return out


_UNSPACED_TABLES = _build_unspaced()

CONCEPTS: frozenset[str] = frozenset(
    {k for k in _SPACED if not k.startswith("_") and k != "BLOCK"}
    | {lab for v in _ALSO.values() for lab in v if not lab.startswith("_")}
    | {r[4] for r in _RULES}
    | {k for k in _UNSPACED if k != "BLOCK"}
)


def concepts(words: list[str], text: str) -> set[str]:
    """The concepts named in a text: `words` are its lowercase word tokens, `text` the lowercased text."""
    hits: dict[str, list[int]] = {}
    folded: list[str] = []
    pending: list[int] = []
    cache = _CACHE
    for i, word in enumerate(words):
        entry = cache.get(word)
        if entry is None:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            entry = cache[word] = _analyse(word)
        folded.append(entry[0])
        for label in entry[1]:
            hits.setdefault(label, []).append(i)
        if entry[2]:
            pending.append(i)
    for i in pending:
        for rest, labels in _PHRASES[folded[i]]:
            if tuple(folded[i + 1 : i + 1 + len(rest)]) == rest:
                for label in labels:
                    hits.setdefault(label, []).append(i)
    found = {label for label in hits if label[0] != "_"}
    for a, bs, window, ordered, result in _RULES:
        pa = hits.get(a)
        if not pa or result in found:
            continue
        for b in bs:
            pb = hits.get(b)
            if pb and _near(pa, pb, window, ordered):
                found.add(result)
                break
    if not text.isascii() and _ANY_UNSPACED.search(text):
        for group, (pattern, table) in _UNSPACED_TABLES.items():
            if _GROUP_SCRIPT[group].search(text):
                for m in pattern.finditer(text):
                    found.update(table.get(m.group(), ()))
    return found


def _near(pa: list[int], pb: list[int], window: int, ordered: bool) -> bool:
    for i in pa:
        for j in pb:
            d = j - i
            if (0 < d <= window) if ordered else (0 < abs(d) <= window):
                return True
    return False
